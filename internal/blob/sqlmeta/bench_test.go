package sqlmeta

import (
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore"
	"github.com/lanyard-id/lanyard/internal/store/sqlstore/sqltest"
)

// BenchmarkBlobMetaPutBlob measures the metadata commit of a small Put Blob: one
// UpdateBlob creating a new blob of one extent, made durable, one writer at a time
// (serial) and from 8 writers per CPU (parallel), on fsmeta (journal with group commit),
// SQLite and, with LANYARD_TEST_POSTGRES, PostgreSQL. It reports commits/s.
//
//	go test -run '^$' -bench BlobMetaPutBlob -benchtime 3s ./internal/blob/sqlmeta/
//
// blobMetaEngines are the MetaStores benchmarked side by side.
func blobMetaEngines() []blobMetaEngine {
	return []blobMetaEngine{
		{"fsmeta", func(b *testing.B) blobs.MetaStore {
			m, err := fsmeta.Open(b.TempDir(), fsmeta.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return m
		}},
		{"sqlite", func(b *testing.B) blobs.MetaStore {
			s, err := sqlstore.OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "lanyard.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return New(s.Handle())
		}},
		{"postgres", func(b *testing.B) blobs.MetaStore {
			s, err := sqlstore.OpenPostgres(b.Context(), sqltest.PostgresDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			// Not the owner: every call goes to the database.
			return newBlobMeta(s.Handle(), ownerTiming{})
		}},
	}
}

type blobMetaEngine struct {
	name string
	open func(b *testing.B) blobs.MetaStore
}

func BenchmarkBlobMetaPutBlob(b *testing.B) {
	engines := blobMetaEngines()
	for _, e := range engines {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(e.name+"/"+mode, func(b *testing.B) {
				m := e.open(b)
				defer m.Close()
				ctx := b.Context()
				if err := m.CreateContainer(ctx, blobs.Container{Account: "acct", Name: "bench", ETag: "0x1", LastModified: bt0, CreatedAt: bt0}); err != nil {
					b.Fatal(err)
				}
				var seq atomic.Int64
				put := func() {
					n := seq.Add(1)
					k := blobs.BlobKey{Account: "acct", Container: "bench", Name: "dir/blob-" + strconv.FormatInt(n, 10)}
					_, err := m.UpdateBlob(ctx, k, false, func(st blobs.BlobState) (blobs.BlobWrite, error) {
						return blobs.BlobWrite{DropBlocks: true, Blob: &blobs.BlobRecord{
							BlobProperties: blobs.BlobProperties{Container: k.Container, Name: k.Name, Size: 1024,
								HTTPHeaders: blobs.HTTPHeaders{ContentType: "application/octet-stream", ContentMD5: make([]byte, 16)},
								ETag:        "0x8DC4A2B1C3D4E5F", LastModified: bt0, CreatedAt: bt0, BlobType: blobs.BlobTypeBlock},
							Extents: []blobs.Extent{{Content: blobs.ContentID("0123456789abcdef0123456789abcdef" + strconv.FormatInt(n, 10)), Size: 1024}},
						}}, nil
					})
					if err != nil {
						b.Error(err)
					}
				}
				b.ResetTimer()
				if mode == "serial" {
					for b.Loop() {
						put()
					}
				} else {
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							put()
						}
					})
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
				b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
			})
		}
	}
}

// BenchmarkBlobMetaGetBlob reads one of 100 blobs' metadata from 16 goroutines: what a
// Get Blob asks of the store.
func BenchmarkBlobMetaGetBlob(b *testing.B) {
	for _, e := range blobMetaEngines() {
		b.Run(e.name, func(b *testing.B) {
			m := e.open(b)
			defer m.Close()
			ctx := b.Context()
			if err := m.CreateContainer(ctx, blobs.Container{Account: "acct", Name: "bench", ETag: "0x1", LastModified: bt0, CreatedAt: bt0}); err != nil {
				b.Fatal(err)
			}
			for i := range 100 {
				k := blobs.BlobKey{Account: "acct", Container: "bench", Name: "blob-" + strconv.Itoa(i)}
				if _, err := m.UpdateBlob(ctx, k, false, func(blobs.BlobState) (blobs.BlobWrite, error) {
					return blobs.BlobWrite{Blob: &blobs.BlobRecord{BlobProperties: blobs.BlobProperties{Container: k.Container, Name: k.Name,
						Size: 1024, ETag: "0x8DC4A2B1C3D4E5F", LastModified: bt0, CreatedAt: bt0, BlobType: blobs.BlobTypeBlock},
						Extents: []blobs.Extent{{Content: blobs.ContentID("0123456789abcdef0123456789abcdef" + strconv.Itoa(i)), Size: 1024}}}}, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := blobs.BlobKey{Account: "acct", Container: "bench", Name: "blob-" + strconv.FormatInt(seq.Add(1)%100, 10)}
					if _, err := m.GetBlob(ctx, k); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
