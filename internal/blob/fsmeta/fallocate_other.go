//go:build !linux

package fsmeta

import (
	"errors"
	"os"
)

// fallocate is Linux-only; elsewhere the journal keeps no reserve, and a failed write is
// still cut back and retried.
func fallocate(f *os.File, off, n int64) error { return errors.ErrUnsupported }
