package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKEK(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustNew(t *testing.T, kek []byte) *Sealer {
	t.Helper()
	s, err := New(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewKeySize(t *testing.T) {
	for _, n := range []int{0, 1, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with %d-byte key: want error", n)
		}
	}
	if _, err := New(make([]byte, KeySize)); err != nil {
		t.Errorf("New with %d-byte key: %v", KeySize, err)
	}
}

func TestRoundTrip(t *testing.T) {
	s := mustNew(t, testKEK(1))
	for _, tc := range []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"empty", nil, nil},
		{"empty with aad", []byte{}, []byte("kid")},
		{"small", []byte("secret"), []byte("key-1")},
		{"large", bytes.Repeat([]byte("x"), 1<<16), []byte("key-2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed := s.Seal(tc.plaintext, tc.aad)
			if sealed[0] != version1 {
				t.Fatalf("version byte = %d, want %d", sealed[0], version1)
			}
			if want := 1 + nonceSize + len(tc.plaintext) + tagSize; len(sealed) != want {
				t.Fatalf("sealed length = %d, want %d", len(sealed), want)
			}
			if len(tc.plaintext) >= 6 && bytes.Contains(sealed, tc.plaintext[:6]) {
				t.Fatal("sealed value contains the plaintext")
			}
			got, err := s.Open(sealed, tc.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open = %q, want %q", got, tc.plaintext)
			}
		})
	}
}

func TestSealIsRandomized(t *testing.T) {
	s := mustNew(t, testKEK(1))
	a, b := s.Seal([]byte("same"), nil), s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: nonce not random")
	}
}

func TestOpenRejects(t *testing.T) {
	s := mustNew(t, testKEK(1))
	other := mustNew(t, testKEK(2))
	sealed := s.Seal([]byte("the private key"), []byte("kid-1"))

	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	for _, tc := range []struct {
		name   string
		opener *Sealer
		sealed []byte
		aad    []byte
	}{
		{"wrong key", other, sealed, []byte("kid-1")},
		{"wrong aad", s, sealed, []byte("kid-2")},
		{"missing aad", s, sealed, nil},
		{"aad extended", s, sealed, []byte("kid-1x")},
		{"empty", s, nil, []byte("kid-1")},
		{"version only", s, []byte{version1}, []byte("kid-1")},
		{"truncated to header", s, sealed[:1+nonceSize], []byte("kid-1")},
		{"truncated below tag", s, sealed[:1+nonceSize+tagSize-1], []byte("kid-1")},
		{"truncated by one", s, sealed[:len(sealed)-1], []byte("kid-1")},
		{"unknown version", s, append([]byte{2}, sealed[1:]...), []byte("kid-1")},
		{"version zero", s, append([]byte{0}, sealed[1:]...), []byte("kid-1")},
		{"nonce tampered", s, flip(1), []byte("kid-1")},
		{"ciphertext tampered", s, flip(1 + nonceSize), []byte("kid-1")},
		{"tag tampered", s, flip(len(sealed) - 1), []byte("kid-1")},
		{"extra byte", s, append(bytes.Clone(sealed), 0), []byte("kid-1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := tc.opener.Open(tc.sealed, tc.aad)
			if err == nil {
				t.Fatalf("Open succeeded with %q", pt)
			}
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("error %v does not wrap ErrOpen", err)
			}
			if pt != nil {
				t.Fatal("Open returned plaintext along with an error")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	s := mustNew(t, testKEK(3))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			aad := []byte{byte(i)}
			for range 100 {
				if _, err := s.Open(s.Seal([]byte("x"), aad), aad); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseKEK(t *testing.T) {
	kek := make([]byte, KeySize)
	for i := range kek {
		kek[i] = byte(250 + i) // covers bytes that differ between the std and URL alphabets
	}
	for _, enc := range []struct {
		name string
		s    string
	}{
		{"std", base64.StdEncoding.EncodeToString(kek)},
		{"raw std", base64.RawStdEncoding.EncodeToString(kek)},
		{"url", base64.URLEncoding.EncodeToString(kek)},
		{"raw url", base64.RawURLEncoding.EncodeToString(kek)},
		{"surrounding space", "  " + EncodeKEK(kek) + "\n"},
	} {
		got, err := ParseKEK(enc.s)
		if err != nil {
			t.Errorf("%s: %v", enc.name, err)
			continue
		}
		if !bytes.Equal(got, kek) {
			t.Errorf("%s: got %x, want %x", enc.name, got, kek)
		}
	}

	secret := "not*base64*" + strings.Repeat("A", 30)
	for _, tc := range []struct{ name, s string }{
		{"empty", ""},
		{"space", "   "},
		{"not base64", secret},
		{"short", base64.StdEncoding.EncodeToString(make([]byte, 16))},
		{"long", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"hex", strings.Repeat("ab", KeySize)},
	} {
		_, err := ParseKEK(tc.s)
		if err == nil {
			t.Errorf("%s: want error", tc.name)
			continue
		}
		if len(tc.s) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tc.s)) {
			t.Errorf("%s: error echoes the secret: %v", tc.name, err)
		}
	}
}

func TestLoadOrCreateKEK(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "kek")
	kek, err := LoadOrCreateKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kek) != KeySize {
		t.Fatalf("key is %d bytes", len(kek))
	}
	if bytes.Equal(kek, make([]byte, KeySize)) {
		t.Fatal("key is all zeros")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %04o, want 0600", info.Mode().Perm())
	}
	again, err := LoadOrCreateKEK(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kek, again) {
		t.Fatal("second load returned a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("key directory holds %d entries, want only the key (temp file left behind?)", len(entries))
	}
	// The key works with New.
	if _, err := New(kek); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateKEKConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKEK(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[0], keys[i]) {
			t.Fatal("concurrent creators ended up with different keys")
		}
	}
}

func TestLoadOrCreateKEKRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"world readable", func(t *testing.T, p string) { write(t, p, testKEK(1), 0o604) }, "owner only"},
		{"group readable", func(t *testing.T, p string) { write(t, p, testKEK(1), 0o640) }, "owner only"},
		{"group writable", func(t *testing.T, p string) { write(t, p, testKEK(1), 0o620) }, "owner only"},
		{"too short", func(t *testing.T, p string) { write(t, p, make([]byte, 16), 0o600) }, "exactly 32"},
		{"too long", func(t *testing.T, p string) { write(t, p, make([]byte, 33), 0o600) }, "exactly 32"},
		{"empty", func(t *testing.T, p string) { write(t, p, nil, 0o600) }, "exactly 32"},
		{"base64 text", func(t *testing.T, p string) { write(t, p, []byte(EncodeKEK(testKEK(1))), 0o600) }, "exactly 32"},
		{"directory", func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kek")
			tc.setup(t, path)
			before, _ := os.ReadFile(path)
			_, err := LoadOrCreateKEK(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("a refused key file was modified")
			}
		})
	}
}

func write(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	s, _ := New(testKEK(1))
	pt := make([]byte, 1200) // about a PKCS#8 RSA-2048 key
	aad := []byte("kid")
	for b.Loop() {
		if _, err := s.Open(s.Seal(pt, aad), aad); err != nil {
			b.Fatal(err)
		}
	}
}
