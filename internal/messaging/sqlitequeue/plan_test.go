package sqlitequeue

import (
	"strings"
	"testing"
)

// Each of Receive's and settlement's statements reads through the index made for it, so
// that its cost does not grow with the messages a queue holds (locked ones included).
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const expired = "namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 0 AND expires_at > 0 AND expires_at <= 5"
	for _, c := range []struct{ query, want string }{
		{`SELECT m.id, ` + storedColumns + ` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = 'n' AND m.queue = 'q' AND m.sub = 0 AND m.state = 0 ORDER BY m.seq LIMIT 10`, "messages_available"},
		{"UPDATE messages SET state = 0 WHERE namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 1 AND locked_until <= 5", "messages_locks"},
		{"UPDATE messages SET sub = 1 WHERE " + expired, "messages_expiry"},
		{"DELETE FROM messages WHERE " + expired, "messages_expiry"},
		{"SELECT id FROM messages WHERE lock_token = x'00' AND namespace = 'n' AND queue = 'q' AND sub = 0 AND state = 1 AND locked_until > 5", "messages_by_token"},
		{`SELECT ` + storedColumns + ` FROM messages m JOIN bodies b ON b.id = m.id
WHERE m.namespace = 'n' AND m.queue = 'q' AND m.sub = 1 AND m.seq >= 3 ORDER BY m.seq LIMIT 10`, "messages_by_seq"},
	} {
		rows, err := s.write.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+c.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		t.Log(p)
		if !strings.Contains(p, c.want) || strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN m ") ||
			strings.HasPrefix(p, "SCAN messages") {
			t.Errorf("plan of %q:\n%s\nwant a search through %s", c.query, p, c.want)
		}
	}
}
