package blob

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// lastTick is the last ETag value handed out, in 100 ns ticks since the Unix epoch.
var lastTick atomic.Uint64

// newETag returns an ETag that no earlier write in this process had, in Azure's form
// (0x followed by upper-case hex). Values derive from the clock, so they also keep
// growing across restarts as long as the clock does.
func newETag(now time.Time) string {
	t := uint64(now.UnixNano() / 100)
	for {
		last := lastTick.Load()
		next := max(t, last+1)
		if lastTick.CompareAndSwap(last, next) {
			return "0x" + strings.ToUpper(strconv.FormatUint(next, 16))
		}
	}
}
