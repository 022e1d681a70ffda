package server

import (
	"context"
	"path/filepath"

	"github.com/lanyard-id/lanyard/internal/messaging"
	"github.com/lanyard-id/lanyard/internal/messaging/pgqueue"
	"github.com/lanyard-id/lanyard/internal/messaging/sqlitequeue"
)

// openQueues opens the Service Bus queue store beside the main store: on PostgreSQL the
// same database (and schema), which every node shares, so receivers on any node compete
// for one queue; on SQLite a database of its own under the node's home.
func (s *Server) openQueues(ctx context.Context) (messaging.Store, error) {
	if isSQLite(s.cfg.Store) {
		return sqlitequeue.Open(ctx, filepath.Join(s.cfg.Home, "servicebus"), sqlitequeue.Options{Logger: s.logger})
	}
	return pgqueue.Open(ctx, s.cfg.Store, pgqueue.Options{Logger: s.logger})
}
