//go:build !(linux || darwin || freebsd)

package fscontent

import "errors"

func freeBytes(dir string) (uint64, error) { return 0, errors.ErrUnsupported }
