//go:build unix

package fsmeta

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock keeps a second process from opening the same directory: two writers would
// interleave journal records. The lock dies with the process, so a crash never leaves
// the directory locked.
type dirLock struct{ f *os.File }

func lockDir(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is in use by another process: %w", dir, err)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() error { return l.f.Close() }
