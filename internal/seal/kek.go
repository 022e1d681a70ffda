package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// LoadOrCreateKEK reads the key-encryption key file at path: exactly KeySize raw bytes,
// readable by its owner only. When the file does not exist it is created with a new
// random key and mode 0600 (its directory with 0700 if missing).
//
// A file that others may read, or of the wrong size, is refused rather than repaired:
// either the key has leaked or it is not the key the data was sealed with.
func LoadOrCreateKEK(path string) ([]byte, error) {
	kek, err := readKEK(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kek, err
	}
	if err := createKEK(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Read back what is on disk: another process may have created it first.
	return readKEK(path)
}

func readKEK(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: key-encryption key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key-encryption key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: key-encryption key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check.
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: key-encryption key file %s has mode %04o; it must be accessible by its owner only (chmod 600)", path, info.Mode().Perm())
	}
	if info.Size() != KeySize {
		return nil, fmt.Errorf("seal: key-encryption key file %s is %d bytes; it must be exactly %d", path, info.Size(), KeySize)
	}
	kek := make([]byte, KeySize)
	if _, err := f.ReadAt(kek, 0); err != nil {
		return nil, fmt.Errorf("seal: reading key-encryption key file: %w", err)
	}
	return kek, nil
}

// createKEK writes a new key to a temporary file and hard-links it into place, so the
// key appears complete or not at all, and a concurrent creator's key is never replaced.
func createKEK(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seal: creating key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".kek-*") // mode 0600
	if err != nil {
		return fmt.Errorf("seal: creating key-encryption key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	kek := make([]byte, KeySize)
	_, _ = rand.Read(kek)
	if _, err := tmp.Write(kek); err != nil {
		tmp.Close()
		return fmt.Errorf("seal: writing key-encryption key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("seal: writing key-encryption key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seal: writing key-encryption key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("seal: installing key-encryption key file: %w", err)
	}
	return nil
}
