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

// The audit trail is kept in segments, a row per append holding its events as JSON lines
// (see auditsegment.go), because events are written at request rate: a batch of hundreds
// of events costs one row and a few keys instead of six B-tree inserts per event.

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
		if err := tx.insertAuditSegments(ctx, events); err != nil {
			return err
		}
		_, err = tx.exec(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, prev)
		return err
	})
	return s.wrapErr("append audit events", err, "An audit event with the same sequence number exists.")
}

// insertAuditSegments writes events, which continue the chain, as segments of at most
// maxSegmentEvents.
func (s *Store) insertAuditSegments(ctx context.Context, events []lanyard.AuditEvent) error {
	var buf []byte
	if s.segment != nil {
		s.segment.mu.Lock()
		defer s.segment.mu.Unlock()
		buf = s.segment.buf
		defer func() {
			if cap(buf) <= maxKeptBuffer {
				s.segment.buf = buf
			}
		}()
	}
	for start := 0; start < len(events); start += maxSegmentEvents {
		seg := newAuditSegment(events[start:min(start+maxSegmentEvents, len(events))], buf)
		buf = seg.body
		// The body goes as bytes, from the reused buffer; the cast stores it as text.
		if _, err := s.exec(ctx, `INSERT INTO audit_segments (first_seq, last_seq, min_time, max_time, min_id, max_id, events)
		VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TEXT))`, seg.firstSeq, seg.lastSeq, micros(seg.minTime), micros(seg.maxTime), seg.minID, seg.maxID, seg.body); err != nil {
			return err
		}
		keys := seg.keys()
		for i := 0; i < len(keys); i += auditKeyRows {
			chunk := keys[i:min(i+auditKeyRows, len(keys))]
			var b strings.Builder
			b.WriteString("INSERT INTO audit_keys (field, value, first_seq) VALUES ")
			args := make([]any, 0, 3*len(chunk))
			for j, k := range chunk {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?)")
				args = append(args, k.field, k.value, seg.firstSeq)
			}
			if _, err := s.exec(ctx, b.String(), args...); err != nil {
				return err
			}
		}
	}
	return nil
}

// auditKeyRows bounds the rows of one INSERT into audit_keys, far below either engine's
// limit on parameters.
const auditKeyRows = 100

// auditSegmentPage is how many segments a query reads at a time.
const auditSegmentPage = 16

// scanAuditSegments runs q (which selects first_seq and events, ordered by first_seq,
// with a first "first_seq > ?" condition) a page at a time, decoding each segment and
// handing its events to fn until fn returns false.
func (s *Store) scanAuditSegments(ctx context.Context, q string, args []any, fn func(lanyard.AuditEvent) bool) error {
	q += fmt.Sprintf(" ORDER BY s.first_seq LIMIT %d", auditSegmentPage)
	cursor := int64(-1)
	for {
		rows, err := s.query(ctx, q, append([]any{cursor}, args...)...)
		if err != nil {
			return err
		}
		type segment struct {
			first int64
			body  string
		}
		var page []segment
		for rows.Next() {
			var sg segment
			if err := rows.Scan(&sg.first, &sg.body); err != nil {
				rows.Close()
				return err
			}
			page = append(page, sg)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, sg := range page {
			events, err := decodeAuditSegment(sg.body)
			if err != nil {
				return fmt.Errorf("sqlstore: the audit segment from seq %d is damaged: %w", sg.first, err)
			}
			for _, e := range events {
				if !fn(e) {
					return nil
				}
			}
			cursor = sg.first
		}
		if len(page) < auditSegmentPage {
			return nil
		}
	}
}

func (s *Store) GetAuditEvent(ctx context.Context, id string) (lanyard.AuditEvent, error) {
	var found *lanyard.AuditEvent
	err := s.scanAuditSegments(ctx, "SELECT s.first_seq, s.events FROM audit_segments s WHERE s.first_seq > ? AND s.min_id <= ? AND s.max_id >= ?",
		[]any{id, id}, func(e lanyard.AuditEvent) bool {
			if e.ID == id {
				found = &e
			}
			return found == nil
		})
	if err == nil && found == nil {
		err = notFound("AuditEventNotFound", "The audit event '%s' was not found.", id)
	}
	if err != nil {
		return lanyard.AuditEvent{}, s.wrapErr("get audit event", err, "")
	}
	return *found, nil
}

// likePattern turns a '*' wildcard pattern into a LIKE pattern escaped with '\'.
func likePattern(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`)
	return r.Replace(p)
}

func (s *Store) ListAuditEvents(ctx context.Context, f lanyard.AuditFilter) ([]lanyard.AuditEvent, error) {
	// The keys and the segments' bounds find the segments that may hold a match; m
	// decides on each event.
	q := "SELECT s.first_seq, s.events FROM audit_segments s WHERE s.first_seq > ?"
	var args []any
	hasKey := func(field, cmp string, v string) {
		q += " AND s.first_seq IN (SELECT k.first_seq FROM audit_keys k WHERE k.field = '" + field + "' AND k.value " + cmp + ")"
		args = append(args, v)
	}
	m := newAuditMatcher(f)
	if f.Principal != "" {
		hasKey(keyPrincipal, "= ?", m.principal)
	}
	if f.Action != "" {
		if strings.Contains(f.Action, "*") {
			hasKey(keyAction, `LIKE ? ESCAPE '\'`, likePattern(m.action))
		} else {
			hasKey(keyAction, "= ?", m.action)
		}
	}
	if f.Decision != "" {
		hasKey(keyDecision, "= ?", f.Decision)
	}
	if f.Kind != "" {
		hasKey(keyKind, "= ?", f.Kind)
	}
	if f.TokenID != "" {
		hasKey(keyToken, "= ?", f.TokenID)
	}
	if !f.Since.IsZero() {
		q += " AND s.max_time >= ?"
		args = append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q += " AND s.min_time < ?"
		args = append(args, micros(f.Until))
	}
	if f.AfterSeq > 0 {
		q += " AND s.last_seq > ?"
		args = append(args, f.AfterSeq)
	}
	var out []lanyard.AuditEvent
	err := s.scanAuditSegments(ctx, q, args, func(e lanyard.AuditEvent) bool {
		if m.match(e) {
			out = append(out, e)
		}
		return f.Limit <= 0 || len(out) < f.Limit
	})
	if err != nil {
		return nil, s.wrapErr("list audit events", err, "")
	}
	return out, nil
}

// PruneAuditEvents deletes a prefix of the chain; see store.AuditEvents. Whole segments
// go; the one the cut falls in is written again without its pruned events.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *Store) error {
		n = 0
		head, err := tx.auditHead(ctx, true)
		if err != nil {
			return err
		}
		// Times follow the sequence only roughly (events are stamped when recorded and
		// numbered when written), so cut before the first event that must stay. The first
		// segment holding an event that recent holds the first such event.
		last := head.Seq
		err = tx.scanAuditSegments(ctx, "SELECT s.first_seq, s.events FROM audit_segments s WHERE s.first_seq > ? AND s.max_time >= ?",
			[]any{micros(before)}, func(e lanyard.AuditEvent) bool {
				if !e.Time.Before(before) {
					last = e.Seq - 1
					return false
				}
				return true
			})
		if err != nil {
			return err
		}
		// The segment the cut falls in, if any, keeps its events after the cut.
		var boundary []lanyard.AuditEvent
		err = tx.scanAuditSegments(ctx, "SELECT s.first_seq, s.events FROM audit_segments s WHERE s.first_seq > ? AND s.first_seq <= ? AND s.last_seq > ?",
			[]any{last, last}, func(e lanyard.AuditEvent) bool {
				boundary = append(boundary, e)
				return true
			})
		if err != nil {
			return err
		}
		cut := 0
		for cut < len(boundary) && boundary[cut].Seq <= last {
			cut++
		}
		// The anchor is the last event deleted: in the boundary segment, or the last of
		// the whole segments before it.
		var anchor *lanyard.AuditEvent
		if cut > 0 {
			anchor = &boundary[cut-1]
		} else {
			err = tx.scanAuditSegments(ctx, `SELECT s.first_seq, s.events FROM audit_segments s WHERE s.first_seq > ?
			AND s.first_seq = (SELECT MAX(l.first_seq) FROM audit_segments l WHERE l.last_seq <= ?)`,
				[]any{last}, func(e lanyard.AuditEvent) bool {
					anchor = &e
					return true
				})
			if err != nil {
				return err
			}
		}
		if anchor == nil {
			return nil // nothing old enough
		}
		if err := tx.queryRow(ctx, "SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM audit_segments WHERE last_seq <= ?", last).Scan(&n); err != nil {
			return err
		}
		n += int64(cut)
		if _, err := tx.exec(ctx, "DELETE FROM audit_keys WHERE first_seq <= ?", last); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM audit_segments WHERE first_seq <= ?", last); err != nil {
			return err
		}
		if cut > 0 && cut < len(boundary) {
			if err := tx.insertAuditSegments(ctx, boundary[cut:]); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, "UPDATE audit_head SET anchor_seq = ?, anchor_hash = ? WHERE id = 1", anchor.Seq, anchor.Hash)
		return err
	})
	return int(n), s.wrapErr("prune audit events", err, "")
}

// migrateAuditSegments moves the events of the row-per-event table (migration 0004) into
// segments, in sequence order, and drops that table.
func migrateAuditSegments(ctx context.Context, tx *Store) error {
	if tx.d == postgresDialect {
		// PostgreSQL compresses a segment's hundreds of KiB with pglz by default, at a cost
		// in CPU the request path shares; lz4 is several times cheaper. A server built
		// without lz4 keeps pglz.
		_ = tx.inTx(ctx, func(sp *Store) error {
			_, err := sp.exec(ctx, "ALTER TABLE audit_segments ALTER COLUMN events SET COMPRESSION lz4")
			return err
		})
	}
	rows, err := tx.query(ctx, `SELECT seq, id, time, kind, request_id, principal_id, client_id, action, decision, token_id,
	details, prev_hash, hash FROM audit_events ORDER BY seq`)
	if err != nil {
		return err
	}
	var events []lanyard.AuditEvent
	for rows.Next() {
		var (
			e       lanyard.AuditEvent
			t       int64
			details string
		)
		if err := rows.Scan(&e.Seq, &e.ID, &t, &e.Kind, &e.RequestID, &e.PrincipalID, &e.ClientID, &e.Action, &e.Decision,
			&e.TokenID, &details, &e.PrevHash, &e.Hash); err != nil {
			rows.Close()
			return err
		}
		e.Time, e.Details = fromMicros(t), []byte(details)
		events = append(events, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := tx.insertAuditSegments(ctx, events); err != nil {
		return err
	}
	_, err = tx.exec(ctx, "DROP TABLE audit_events")
	return err
}
