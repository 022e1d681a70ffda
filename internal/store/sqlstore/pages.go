package sqlstore

import "context"

// Pages are read by keyset: WHERE key > after ORDER BY key LIMIT n, the key being a
// unique, lowercased column. A page then costs one index range scan and no more than
// limit rows whatever the table holds, and a row created or deleted between pages makes
// no other row repeat or go missing. The comparison and the order are both the
// database's (PostgreSQL's collation need not be byte order), so they agree.

// queryPage runs q and scans up to limit rows with scan; op names the call in errors.
func queryPage[T any](ctx context.Context, s *Store, op string, limit int, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr(op, err, "")
	}
	defer rows.Close()
	out := make([]T, 0, min(limit, 1000))
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.wrapErr(op, err, "")
		}
		out = append(out, v)
	}
	return out, s.wrapErr(op, rows.Err(), "")
}
