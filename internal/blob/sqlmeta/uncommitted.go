package sqlmeta

import (
	"context"
	"strings"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// ListUncommittedBlobs implements blob.MetaStore: the rows of blobs that have staged
// blocks and no committed version.
func (m *blobMeta) ListUncommittedBlobs(ctx context.Context, account, container, prefix, after string, limit int) ([]string, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if !storableText(account) || !storableText(container) {
		return nil, blobs.ErrContainerNotFound()
	}
	nr := blobListRange(prefix, after)
	var out []string
	if limit > 0 && !nr.empty {
		var q strings.Builder
		q.WriteString("SELECT e.name FROM blob_entries e WHERE e.account = ? AND e.container = ? AND NOT e.committed AND e.block_count > 0")
		args := nr.where(&q, []any{account, container}, "e.name")
		q.WriteString(" ORDER BY e.name LIMIT ?")
		args = append(args, limit)
		rows, err := m.s.query(ctx, q.String(), args...)
		if err != nil {
			return nil, m.result("list uncommitted blobs", err)
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, m.result("list uncommitted blobs", err)
			}
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			return nil, m.result("list uncommitted blobs", err)
		}
	}
	if len(out) == 0 {
		if err := m.s.blobContainerExists(ctx, account, container); err != nil {
			return nil, m.result("list uncommitted blobs", err)
		}
	}
	return out, nil
}
