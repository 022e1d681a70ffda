package fsmeta

import (
	"errors"
	"os"
	"syscall"
)

// fallocKeepSize (FALLOC_FL_KEEP_SIZE) reserves blocks past the end without moving it,
// so replay, which reads to the end, sees nothing new.
const fallocKeepSize = 0x1

func fallocate(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Fallocate(int(fd), fallocKeepSize, off, n)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if errors.Is(ferr, syscall.EOPNOTSUPP) || errors.Is(ferr, syscall.ENOSYS) {
		return errors.ErrUnsupported
	}
	return ferr
}
