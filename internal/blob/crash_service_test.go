package blob_test

import (
	"context"
	"os"
	"path/filepath"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
)

// openCrashService opens the Blob service of a crash test's directory, as its worker and
// its checks both do.
func openCrashService(ctx context.Context, dir string) (*blob.Service, error) {
	return openProtectedCrashService(ctx, dir, blob.Policy{})
}

// openProtectedCrashService is openCrashService with versioning and soft delete as pol
// says.
func openProtectedCrashService(ctx context.Context, dir string, pol blob.Policy) (*blob.Service, error) {
	meta, err := fsmeta.Open(filepath.Join(dir, "meta"), fsmeta.Options{CompactBytes: 64 << 10})
	if err != nil {
		return nil, err
	}
	content, err := fscontent.Open(filepath.Join(dir, "data"))
	if err != nil {
		return nil, err
	}
	policy := func(context.Context, string) (blob.Policy, error) { return pol, nil }
	return blob.Open(ctx, blob.Config{Meta: meta, Content: content, GCInterval: -1, Policy: policy})
}

// openCrashWriter opens what a crash test's worker writes with: the service, the
// container "crash" (made on the first run), and the ledger file named ledger, where the
// worker appends what it has done.
func openCrashWriter(ctx context.Context, dir, ledger string) (*blob.Service, *os.File, error) {
	return openProtectedCrashWriter(ctx, dir, ledger, blob.Policy{})
}

// openProtectedCrashWriter is openCrashWriter with versioning and soft delete as pol
// says.
func openProtectedCrashWriter(ctx context.Context, dir, ledger string, pol blob.Policy) (*blob.Service, *os.File, error) {
	s, err := openProtectedCrashService(ctx, dir, pol)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.CreateContainer(ctx, "acct", "crash", nil); err != nil && blob.CodeOf(err) != blob.CodeContainerAlreadyExists {
		return nil, nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ledger), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, err
	}
	return s, f, nil
}
