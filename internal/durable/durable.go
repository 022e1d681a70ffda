// Package durable makes file system changes survive a crash: a file is written whole or
// not at all, and a directory's new entries are on disk before the caller goes on.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// SyncDir flushes dir itself, so the files created, renamed or removed in it stay so
// after a crash (fsync of a file does not cover its directory entry).
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFile writes data to path with perm through a temporary file that is synced, renamed
// over path, and whose directory is then synced: readers see the old content or the new,
// never a torn file, and after a crash the new content is there if WriteFile returned nil.
// On failure the temporary file is removed, so a full disk keeps no partial copy; one left
// by a crash ends in ".tmp", for the owner of the directory to clear at start.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
