package server

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/store"
)

// openBlob opens the Blob service: content in contentDir, metadata in sharedMeta when the
// store is shared with other nodes (they must see each other's blobs), otherwise in a
// journal under home/blob, which is faster for one node. rehydrateDelay is how long a
// rehydration from Archive takes (0: at once). policy gives an account's blob versioning
// and soft delete settings (nil: off).
func openBlob(ctx context.Context, home, contentDir string, sharedMeta blob.MetaStore, rehydrateDelay time.Duration,
	policy func(ctx context.Context, account string) (blob.Policy, error), logger *slog.Logger) (*blob.Service, error) {
	meta := sharedMeta
	if meta == nil {
		m, err := fsmeta.Open(filepath.Join(home, "blob", "meta"), fsmeta.Options{Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("blob metadata: %w", err)
		}
		meta = m
	}
	content, err := fscontent.Open(contentDir)
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("blob content: %w", err)
	}
	shared := sharedMeta != nil
	if shared {
		// Other nodes' recovery may remove an unreferenced file once it is
		// blob.SharedOrphanAge old (over a day); pooled files are used within an hour or not at all.
		content.LimitPoolAge(time.Hour)
	}
	if rehydrateDelay == 0 {
		rehydrateDelay = -1 // blob.Config: none
	}
	svc, err := blob.Open(ctx, blob.Config{Meta: meta, Content: content, Logger: logger, SharedContent: shared,
		RehydrateDelay: rehydrateDelay, Policy: policy})
	if err != nil {
		meta.Close()
		content.Close()
		return nil, err
	}
	return svc, nil
}

// blobReady is the Blob service's part of /readyz: it can store data (the disk is not
// full). Reads and deletions keep working while it is not.
func (s *Server) blobReady() error {
	if s.blob == nil {
		return nil
	}
	return s.blob.Ready()
}

// settingStoreID names the random id that ties a blob content directory to its store.
const settingStoreID = "store_id"

// storeIDFile marks a blob content directory with the id of the store whose metadata
// describes it.
const storeIDFile = "lanyard-store-id"

// checkContentDir makes sure dir holds this store's blob content, marking a new directory.
// Nodes sharing a store must share its content directory; a node pointed at another
// store's content would serve bytes its metadata does not describe.
func checkContentDir(ctx context.Context, st store.Settings, dir string) error {
	id, err := agreeOn(ctx, st, settingStoreID, func() ([]byte, error) { return []byte(uuid.NewString()), nil })
	if err != nil {
		return err
	}
	marker := filepath.Join(dir, storeIDFile)
	got, err := os.ReadFile(marker)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("blob content directory: %w", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			return fmt.Errorf("blob content directory %s is not empty but has no %s: it was not made by this store", dir, storeIDFile)
		}
		return os.WriteFile(marker, append(id, '\n'), 0o640)
	case err != nil:
		return fmt.Errorf("blob content directory: %w", err)
	case strings.TrimSpace(string(got)) != string(id):
		return fmt.Errorf("blob content directory %s belongs to store %s, but this node's store is %s: point blobContentDir at the directory the other nodes of this store use",
			dir, strings.TrimSpace(string(got)), id)
	}
	return nil
}

// unavailableBlob answers every Blob request with 503 and the reason the service is off.
func unavailableBlob(reason string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			var msg strings.Builder
			_ = xml.EscapeText(&msg, []byte("The Blob service is off on this node: "+reason))
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>%s</Message></Error>`, msg.String())
		}
	})
}

// deleteAccountData removes every container of a deleted storage account, soft-deleted
// ones included.
func deleteAccountData(ctx context.Context, svc *blob.Service, account string, logger *slog.Logger) {
	if err := svc.PurgeDeletedContainers(ctx, account); err != nil {
		logger.Error("could not purge the deleted containers of a deleted storage account", "account", account, "err", err)
	}
	marker := ""
	for {
		page, err := svc.ListContainers(ctx, account, blob.ListContainersOptions{Marker: marker})
		if err != nil {
			logger.Error("could not list the containers of a deleted storage account", "account", account, "err", err)
			return
		}
		for _, c := range page.Containers {
			if err := svc.DeleteContainer(ctx, account, c.Name, blob.Conditions{}); err != nil && !lanyard.IsNotFound(err) {
				logger.Error("could not delete a container of a deleted storage account", "account", account, "container", c.Name, "err", err)
			}
		}
		if page.NextMarker == "" {
			return
		}
		marker = page.NextMarker
	}
}

// blobPolicy reads an account's blob versioning and soft delete settings for the Blob
// service.
func blobPolicy(accounts directory.StorageAccounts) func(ctx context.Context, account string) (blob.Policy, error) {
	return func(ctx context.Context, account string) (blob.Policy, error) {
		versioning, days, err := accounts.BlobDataProtection(ctx, account)
		return blob.Policy{Versioning: versioning, RetentionDays: days}, err
	}
}
