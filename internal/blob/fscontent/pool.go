package fscontent

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Pool sizes: a batch is created when fewer than poolLow files are ready.
const (
	poolBatch = 64
	poolLow   = 16
)

// pool holds empty content files created ahead of time, whose directory entries are
// already durable. Writing into one needs a single fsync at commit (the file's), where a
// file created on demand also needs its directory fsynced. Each batch shares one shard
// directory, so that one directory fsync makes the whole batch durable.
//
// Pooled files nobody used are unreferenced content: Close removes them, and recovery
// removes them after a crash. Where other processes share the directory, their recovery
// may remove an unreferenced file once it is old enough; maxAge then keeps the pool from
// handing out a file that old (see LimitPoolAge).
type pool struct {
	s *Store

	mu      sync.Mutex
	ready   []*os.File
	ids     []blob.ContentID
	created []time.Time
	maxAge  time.Duration // 0: any age
	filling bool
	closed  bool
	wg      sync.WaitGroup
}

// take returns a ready file, or ok=false when none is.
func (p *pool) take() (f *os.File, id blob.ContentID, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if len(p.ready) < poolLow && !p.filling && !p.closed {
			p.filling = true
			p.wg.Add(1)
			go p.fill()
		}
		n := len(p.ready)
		if n == 0 {
			return nil, "", false
		}
		f, id, created := p.ready[n-1], p.ids[n-1], p.created[n-1]
		p.ready, p.ids, p.created = p.ready[:n-1], p.ids[:n-1], p.created[:n-1]
		if p.maxAge <= 0 || time.Since(created) < p.maxAge {
			return f, id, true
		}
		f.Close()
		os.Remove(filepath.Join(p.s.syncs[shard(id)].dir, string(id)))
	}
}

func (p *pool) fill() {
	defer p.wg.Done()
	now := time.Now() // before any file is made, so that their ages are never understated
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	shard := int(b[0])
	var files []*os.File
	var ids []blob.ContentID
	for range poolBatch {
		if _, err := rand.Read(b[1:]); err != nil {
			panic(err)
		}
		id := blob.ContentID(hex.EncodeToString(b[:]))
		f, err := os.OpenFile(filepath.Join(p.s.syncs[shard].dir, string(id)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			break // the on-demand path still works; try again on the next take
		}
		files, ids = append(files, f), append(ids, id)
	}
	err := p.s.syncs[shard].sync()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.filling = false
	if err != nil || p.closed {
		for i, f := range files {
			f.Close()
			os.Remove(filepath.Join(p.s.syncs[shard].dir, string(ids[i])))
		}
		return
	}
	p.ready = append(p.ready, files...)
	p.ids = append(p.ids, ids...)
	for range files {
		p.created = append(p.created, now)
	}
}

// close removes the files nobody took.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.ready {
		f.Close()
		if sh := shard(p.ids[i]); sh >= 0 {
			os.Remove(filepath.Join(p.s.syncs[sh].dir, string(p.ids[i])))
		}
	}
	p.ready, p.ids, p.created = nil, nil, nil
}
