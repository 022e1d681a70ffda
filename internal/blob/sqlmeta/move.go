package sqlmeta

import (
	"context"
	"strings"

	blobs "github.com/lanyard-id/lanyard/internal/blob"
)

// containerRowTables hold the rows that belong to a container, keyed by (account,
// container, ...), parents before children (their foreign keys).
var containerRowTables = []string{"blob_entries", "blob_blocks", "blob_tags"}

// MoveContainer implements blob.MetaStore. The foreign keys reference a container's key
// and cannot follow an update of it on both engines, so the move inserts the target's
// row, copies every row of the container to it and deletes the source (its rows go with
// it, ON DELETE CASCADE), in one transaction. It locks like DeleteContainer: the source
// row, which new blobs' foreign key checks wait for, then every blob row, which waits for
// their writers.
func (m *blobMeta) MoveContainer(ctx context.Context, account, name string, fn func(blobs.Container) (blobs.Container, error)) (blobs.Container, error) {
	if err := m.check(); err != nil {
		return blobs.Container{}, err
	}
	if m.containerCache != nil {
		// The target is known only inside the transaction.
		m.containerCache.beginAll()
		defer m.containerCache.endAll()
		m.blobCache.beginAll()
		defer m.blobCache.endAll()
	}
	var out blobs.Container
	err := m.write(ctx, func(tx sqlDB) error {
		cur, err := tx.getBlobContainer(ctx, account, name, "UPDATE")
		if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil {
			return &callbackError{err}
		}
		if !storableText(next.Account) || !storableText(next.Name) {
			return errInvalidBlobName()
		}
		if next.Account == account && next.Name == name {
			return blobs.ErrContainerExists()
		}
		cols, err := encodeContainer(next)
		if err != nil {
			return err
		}
		if err := tx.insertBlobContainer(ctx, next, cols); err != nil {
			return err
		}
		if lock := tx.blobLockClause("UPDATE", "e"); lock != "" {
			rows, err := tx.query(ctx, "SELECT 1 FROM blob_entries e WHERE e.account = ? AND e.container = ?"+lock, account, name)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
		for _, t := range containerRowTables {
			if err := tx.copyContainerRows(ctx, t, account, name, next.Account, next.Name); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, "DELETE FROM blob_containers WHERE account = ? AND name = ?", account, name); err != nil {
			return err
		}
		out, err = tx.getBlobContainer(ctx, next.Account, next.Name, "")
		return err
	})
	if err != nil {
		return blobs.Container{}, m.result("move container", err)
	}
	return out, nil
}

// copyContainerRows copies table's rows of one container to another. The columns are
// read from the table, so that columns later migrations add are copied too.
func (s sqlDB) copyContainerRows(ctx context.Context, table, fromAccount, from, toAccount, to string) error {
	rows, err := s.query(ctx, "SELECT * FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return err
	}
	cols, err := rows.Columns()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	sel := make([]string, len(cols))
	var args []any
	for i, c := range cols {
		switch c {
		case "account":
			sel[i] = "CAST(? AS TEXT)"
			args = append(args, toAccount)
		case "container":
			sel[i] = "CAST(? AS TEXT)"
			args = append(args, to)
		default:
			sel[i] = c
		}
	}
	args = append(args, fromAccount, from)
	_, err = s.exec(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") SELECT "+strings.Join(sel, ", ")+
		" FROM "+table+" WHERE account = ? AND container = ?", args...)
	return err
}
