package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

const auditColumns = "e.seq, e.id, e.time, e.kind, e.request_id, e.principal_id, e.client_id, e.action, e.decision, e.token_id, e.details, e.prev_hash, e.hash"

// auditInsertRows bounds the rows of one INSERT: a batch of hundreds of events goes in a
// few statements (one round trip each on PostgreSQL) while staying far below either
// engine's limit on parameters.
const auditInsertRows = 50

func scanAuditEvent(r rowScanner) (lanyard.AuditEvent, error) {
	var (
		e       lanyard.AuditEvent
		t       int64
		details string
	)
	if err := r.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.RequestID, &e.PrincipalID, &e.ClientID, &e.Action, &e.Decision,
		&e.TokenID, &details, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = fromMicros(t)
	e.Details = []byte(details)
	return e, nil
}

func (s *Store) auditHead(ctx context.Context, lock bool) (lanyard.AuditHead, error) {
	q := "SELECT h.seq, h.hash, h.anchor_seq, h.anchor_hash FROM audit_head h WHERE h.id = 1"
	if lock {
		q += s.d.lockRows("h")
	}
	var h lanyard.AuditHead
	err := s.queryRow(ctx, q).Scan(&h.Seq, &h.Hash, &h.AnchorSeq, &h.AnchorHash)
	if errors.Is(err, sql.ErrNoRows) {
		// The migration inserts the row; without it the schema is damaged.
		return h, fmt.Errorf("sqlstore: the audit head row is missing")
	}
	return h, err
}

func (s *Store) GetAuditHead(ctx context.Context) (lanyard.AuditHead, error) {
	h, err := s.auditHead(ctx, false)
	return h, s.wrapErr("get audit head", err, "")
}

// AppendAuditEvents appends what fn returns under the head's row lock; see store.AuditEvents.
func (s *Store) AppendAuditEvents(ctx context.Context, fn func(lanyard.AuditHead) ([]lanyard.AuditEvent, error)) error {
	err := s.inTx(ctx, func(tx *Store) error {
		head, err := tx.auditHead(ctx, true)
		if err != nil {
			return err
		}
		events, err := fn(head)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		seq, prev := head.Seq, head.Hash
		for _, e := range events {
			if e.Seq != seq+1 || e.PrevHash != prev {
				return lanyard.Errorf(lanyard.KindInvalid, "audit event %s does not continue the chain at %d", e.ID, seq)
			}
			seq, prev = e.Seq, e.Hash
		}
		for start := 0; start < len(events); start += auditInsertRows {
			if err := tx.insertAuditEvents(ctx, events[start:min(start+auditInsertRows, len(events))]); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, prev)
		return err
	})
	return s.wrapErr("append audit events", err, "An audit event with the same id or sequence number exists.")
}

func (s *Store) insertAuditEvents(ctx context.Context, events []lanyard.AuditEvent) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events (seq, id, time, kind, request_id, principal_id, principal_key, client_id, client_key,
	action, action_key, decision, token_id, details, prev_hash, hash) VALUES `)
	args := make([]any, 0, len(events)*16)
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.Seq, e.ID, micros(e.Time), e.Kind, e.RequestID, e.PrincipalID, key(e.PrincipalID), e.ClientID,
			key(e.ClientID), e.Action, key(e.Action), e.Decision, e.TokenID, string(e.Details), e.PrevHash, e.Hash)
	}
	_, err := s.exec(ctx, b.String(), args...)
	return err
}

func (s *Store) GetAuditEvent(ctx context.Context, id string) (lanyard.AuditEvent, error) {
	e, err := scanAuditEvent(s.queryRow(ctx, "SELECT "+auditColumns+" FROM audit_events e WHERE e.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		err = notFound("AuditEventNotFound", "The audit event '%s' was not found.", id)
	}
	return e, s.wrapErr("get audit event", err, "")
}

// likePattern turns a '*' wildcard pattern into a LIKE pattern escaped with '\'.
func likePattern(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`)
	return r.Replace(p)
}

func (s *Store) ListAuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error) {
	q := "SELECT " + auditColumns + " FROM audit_events e WHERE 1 = 1"
	var args []any
	if f.Principal != "" {
		q += " AND (e.principal_key = ? OR e.client_key = ?)"
		args = append(args, key(f.Principal), key(f.Principal))
	}
	if f.Action != "" {
		if strings.Contains(f.Action, "*") {
			q += ` AND e.action_key LIKE ? ESCAPE '\'`
			args = append(args, likePattern(key(f.Action)))
		} else {
			q += " AND e.action_key = ?"
			args = append(args, key(f.Action))
		}
	}
	if f.Decision != "" {
		q += " AND e.decision = ?"
		args = append(args, f.Decision)
	}
	if f.Kind != "" {
		q += " AND e.kind = ?"
		args = append(args, f.Kind)
	}
	if f.TokenID != "" {
		q += " AND e.token_id = ?"
		args = append(args, f.TokenID)
	}
	if !f.Since.IsZero() {
		q += " AND e.time >= ?"
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += " AND e.time < ?"
		args = append(args, micros(f.Until))
	}
	if f.AfterSeq > 0 {
		q += " AND e.seq > ?"
		args = append(args, f.AfterSeq)
	}
	q += " ORDER BY e.seq"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrapErr("list audit events", err, "")
	}
	defer rows.Close()
	var out []lanyard.AuditEvent
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return nil, s.wrapErr("list audit events", err, "")
		}
		out = append(out, e)
	}
	return out, s.wrapErr("list audit events", rows.Err(), "")
}

// PruneAuditEvents deletes a prefix of the chain; see store.AuditEvents.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *Store) error {
		head, err := tx.auditHead(ctx, true)
		if err != nil {
			return err
		}
		// Times follow the sequence only roughly (events are stamped when recorded and
		// numbered when written), so cut before the first event that must stay.
		var keep sql.NullInt64
		if err := tx.queryRow(ctx, "SELECT MIN(seq) FROM audit_events WHERE time >= ?", micros(before)).Scan(&keep); err != nil {
			return err
		}
		last := head.Seq
		if keep.Valid {
			last = keep.Int64 - 1
		}
		var anchorSeq int64
		var anchorHash string
		err = tx.queryRow(ctx, "SELECT seq, hash FROM audit_events WHERE seq <= ? ORDER BY seq DESC LIMIT 1", last).Scan(&anchorSeq, &anchorHash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing old enough
		}
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, "DELETE FROM audit_events WHERE seq <= ?", anchorSeq)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE audit_head SET anchor_seq = ?, anchor_hash = ? WHERE id = 1", anchorSeq, anchorHash)
		return err
	})
	return int(n), s.wrapErr("prune audit events", err, "")
}
