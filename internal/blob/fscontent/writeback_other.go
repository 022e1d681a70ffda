//go:build !linux

package fscontent

import "os"

// startWriteback has no portable equivalent; the fsync at commit does all the work.
func startWriteback(*os.File, int64, int64) {}
