package sqlmeta

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// encodeBlobTags is the tags column: a JSON object, "" when none.
func encodeBlobTags(t blobs.Tags) (string, error) {
	if len(t) == 0 {
		return "", nil
	}
	for k, v := range t {
		if !storableText(k) || !storableText(v) {
			return "", errBlobNotText("a tag")
		}
	}
	b, err := json.Marshal(map[string]string(t))
	if err != nil {
		return "", fmt.Errorf("sqlmeta: encoding tags: %w", err)
	}
	return string(b), nil
}

func decodeBlobTags(s string) (blobs.Tags, error) {
	if s == "" {
		return nil, nil
	}
	var t blobs.Tags
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("sqlmeta: decoding tags: %w", err)
	}
	return t, nil
}

func tagsOf(r *blobs.BlobRecord) blobs.Tags {
	if r == nil {
		return nil
	}
	return r.Tags
}

// tagsChange reports whether a write from prev to next changes the blob's tags, and so
// its rows in blob_tags.
func tagsChange(prev, next *blobs.BlobRecord) bool {
	return !maps.Equal(tagsOf(prev), tagsOf(next))
}

// reindexTags rewrites a blob's rows in blob_tags, in the transaction that writes its row,
// when the write changes its tags. The rows of a deleted blob row go by the foreign key.
func (s sqlDB) reindexTags(ctx context.Context, k blobs.BlobKey, prev, next *blobs.BlobRecord) error {
	if !tagsChange(prev, next) {
		return nil
	}
	if _, err := s.exec(ctx, "DELETE FROM blob_tags WHERE account = ? AND container = ? AND name = ?",
		k.Account, k.Container, k.Name); err != nil {
		return err
	}
	for key, v := range tagsOf(next) {
		if _, err := s.exec(ctx, "INSERT INTO blob_tags (account, tag_key, tag_value, container, name) VALUES (?, ?, ?, ?, ?)",
			k.Account, key, v, k.Container, k.Name); err != nil {
			return err
		}
	}
	return nil
}

// FindBlobs implements blob.MetaStore: a range scan of blob_tags on the query's seek key
// (an equality is one value, whose rows come in (container, name) order from the primary
// key), joined to the blobs' rows for their whole tag sets, filtered by the query, in
// batches until a page is full.
func (m *blobMeta) FindBlobs(ctx context.Context, account string, q *blobs.TagQuery, after blobs.TagMarker, limit int) ([]blobs.TaggedBlob, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	seek := q.Seek()
	if limit <= 0 || !storableText(account) || !storableText(q.Container) || !storableText(after.Container) ||
		!storableText(after.Name) || !storableText(seek.Key) || !storableText(seek.Lo) || !storableText(seek.Hi) {
		return nil, nil
	}
	var out []blobs.TaggedBlob
	batch := max(limit, 100)
	for {
		// An equality's rows come from the primary key in (container, name) order; a
		// range's come in value order: they are collected first (MATERIALIZED keeps the
		// planner from walking the per-blob index in name order instead) and sorted.
		var b strings.Builder
		if !seek.Exact {
			b.WriteString("WITH t AS MATERIALIZED (SELECT account, container, name FROM blob_tags t")
		} else {
			b.WriteString("SELECT t.container, t.name, " + findTagsColumn + " FROM blob_tags t")
		}
		b.WriteString(" WHERE t.account = ? AND t.tag_key = ?")
		args := []any{account, seek.Key}
		switch {
		case seek.Exact:
			b.WriteString(" AND t.tag_value = ?")
			args = append(args, seek.Lo)
		default:
			b.WriteString(map[bool]string{true: " AND t.tag_value >= ?", false: " AND t.tag_value > ?"}[seek.LoIncl])
			args = append(args, seek.Lo)
			if seek.HasHi {
				b.WriteString(map[bool]string{true: " AND t.tag_value <= ?", false: " AND t.tag_value < ?"}[seek.HiIncl])
				args = append(args, seek.Hi)
			}
		}
		if q.Container != "" {
			b.WriteString(" AND t.container = ?")
			args = append(args, q.Container)
		}
		if after != (blobs.TagMarker{}) {
			b.WriteString(" AND (t.container, t.name) > (?, ?)")
			args = append(args, after.Container, after.Name)
		}
		if !seek.Exact {
			b.WriteString(") SELECT t.container, t.name, " + findTagsColumn + " FROM t")
		}
		if seek.Exact {
			// tag_value is one value: this is (container, name) order, spelled as the
			// primary key's so that the planner walks it rather than the per-blob index.
			b.WriteString(" ORDER BY t.tag_value, t.container, t.name LIMIT ?")
		} else {
			b.WriteString(" ORDER BY t.container, t.name LIMIT ?")
		}
		args = append(args, batch)
		n, err := m.findBatch(ctx, b.String(), args, q, limit, &out, &after)
		if err != nil {
			return nil, m.result("find blobs", err)
		}
		if len(out) >= limit || n < batch {
			return out, nil
		}
	}
}

// findTagsColumn reads a found blob's whole tag set. A subquery, not a join, so that the
// tag index always drives the query: a join let PostgreSQL, without fresh statistics,
// walk a container's blobs and probe the index for each.
const findTagsColumn = "(SELECT e.tags FROM blob_entries e WHERE e.account = t.account AND e.container = t.container AND e.name = t.name)"

// findBatch reads one batch of FindBlobs, appending the matches to out, moving after past
// every row read, and returns the number of rows.
func (m *blobMeta) findBatch(ctx context.Context, query string, args []any, q *blobs.TagQuery, limit int,
	out *[]blobs.TaggedBlob, after *blobs.TagMarker) (int, error) {
	rows, err := m.s.query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var c, name string
		var enc sql.NullString
		if err := rows.Scan(&c, &name, &enc); err != nil {
			return n, err
		}
		n++
		*after = blobs.TagMarker{Container: c, Name: name}
		tags, err := decodeBlobTags(enc.String)
		if err != nil {
			return n, err
		}
		if len(*out) < limit && q.Match(tags) {
			*out = append(*out, blobs.TaggedBlob{Container: c, Name: name, Tags: tags})
		}
	}
	return n, rows.Err()
}
