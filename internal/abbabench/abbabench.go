// Package abbabench compares two ways of making the same request in one benchmark (a
// bearer token and a SAS, say). It runs them in phases of a fixed number of requests in
// ABBA order (A, B, B, A, ...), so that a load that rises or falls during the run falls on
// both alike, and reports each one's rate, the ratio of the rates over the run, the
// median ratio of the ABBA rounds, and the process's CPU time per request of each (client
// and server together, when both run in the process), which follows the load of the
// moment much less than the rates do.
package abbabench

import (
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Run runs b's loop in phases: each calls do(mode, i) for i from 1 to perPhase, from
// workers goroutines, with mode 0 for A and 1 for B. names label the metrics (A's and
// B's); the ratios are B's over A's.
func Run(b *testing.B, workers, perPhase int, names [2]string, do func(mode int, i int64)) {
	var wall, cpu, roundWall [2]time.Duration
	var done [2]int
	var rounds []float64
	phase := func(mode int) {
		var n atomic.Int64
		var wg sync.WaitGroup
		cpu0, start := cpuTime(b), time.Now()
		for range workers {
			wg.Go(func() {
				for i := n.Add(1); i <= int64(perPhase); i = n.Add(1) {
					do(mode, i)
				}
			})
		}
		wg.Wait()
		w := time.Since(start)
		wall[mode] += w
		roundWall[mode] += w
		cpu[mode] += cpuTime(b) - cpu0
		done[mode] += perPhase
	}
	for i := 0; b.Loop(); i++ {
		phase([4]int{0, 1, 1, 0}[i%4])
		if i%4 == 3 {
			rounds = append(rounds, roundWall[0].Seconds()/roundWall[1].Seconds())
			roundWall = [2]time.Duration{}
		}
	}
	if done[0] == 0 || done[1] == 0 {
		return
	}
	a, z := names[0], names[1]
	rateA, rateB := float64(done[0])/wall[0].Seconds(), float64(done[1])/wall[1].Seconds()
	b.ReportMetric(rateA, a+"-ops/s")
	b.ReportMetric(rateB, z+"-ops/s")
	b.ReportMetric(rateB/rateA, z+"/"+a)
	if len(rounds) > 0 {
		slices.Sort(rounds)
		b.ReportMetric(rounds[len(rounds)/2], z+"/"+a+"-median")
	}
	cpuA, cpuB := cpu[0].Seconds()*1e6/float64(done[0]), cpu[1].Seconds()*1e6/float64(done[1])
	b.ReportMetric(cpuA, a+"-cpu-µs/op")
	b.ReportMetric(cpuB, z+"-cpu-µs/op")
	b.ReportMetric(cpuA/cpuB, z+"/"+a+"-cpu")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
