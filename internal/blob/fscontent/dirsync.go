package fscontent

import (
	"sync"

	"github.com/lanyard-id/lanyard/internal/durable"
)

// dirSyncer coalesces fsyncs of one directory. A caller needs an fsync that starts
// after its file was created; when one is already running it may have started too
// early, so the caller waits for the next one, which then serves every caller that
// arrived meanwhile.
type dirSyncer struct {
	dir string

	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // generations of fsync started
	done    uint64 // generations completed
	err     error  // result of the last completed generation
}

func (d *dirSyncer) sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cond == nil {
		d.cond = sync.NewCond(&d.mu)
	}
	// The first generation that starts from now on covers this caller.
	need := d.started + 1
	for d.done < need {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		d.started++
		gen := d.started
		d.mu.Unlock()
		err := durable.SyncDir(d.dir)
		d.mu.Lock()
		d.running = false
		d.done, d.err = gen, err
		d.cond.Broadcast()
	}
	return d.err
}
