package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/lanyard-id/lanyard/internal/access"
	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/blob/fscontent"
	"github.com/lanyard-id/lanyard/internal/blob/fsmeta"
	"github.com/lanyard-id/lanyard/internal/blobapi"
	"github.com/lanyard-id/lanyard/internal/directory"
	"github.com/lanyard-id/lanyard/internal/lanyard"
	"github.com/lanyard-id/lanyard/internal/rbac"
	"github.com/lanyard-id/lanyard/internal/token"
)

// storageAudience is the audience the Storage SDKs request by default.
const storageAudience = "https://storage.azure.com"

// openBlob opens the Blob service's metadata and content under home/blob.
func openBlob(ctx context.Context, home string, logger *slog.Logger) (*blob.Service, error) {
	meta, err := fsmeta.Open(filepath.Join(home, "blob", "meta"), fsmeta.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("blob metadata: %w", err)
	}
	content, err := fscontent.Open(filepath.Join(home, "blob", "content"))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("blob content: %w", err)
	}
	svc, err := blob.Open(ctx, blob.Config{Meta: meta, Content: content, Logger: logger})
	if err != nil {
		meta.Close()
		content.Close()
		return nil, err
	}
	return svc, nil
}

// accounts resolves storage account names to ARM ids for the Blob endpoint. Names are
// cached; deleting an account drops its entry.
type accounts struct {
	dir   *directory.Service
	mu    sync.RWMutex
	cache map[string]string
}

func newAccounts(dir *directory.Service) *accounts {
	return &accounts{dir: dir, cache: map[string]string{}}
}

func (a *accounts) resourceID(ctx context.Context, name string) (string, error) {
	a.mu.RLock()
	id, ok := a.cache[name]
	a.mu.RUnlock()
	if ok {
		return id, nil
	}
	acct, err := a.dir.GetStorageAccount(ctx, "", name)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	a.cache[name] = acct.ResourceID
	a.mu.Unlock()
	return acct.ResourceID, nil
}

func (a *accounts) forget(name string) {
	a.mu.Lock()
	delete(a.cache, name)
	a.mu.Unlock()
}

// AccountExists implements blobapi.AccountLookup.
func (a *accounts) AccountExists(ctx context.Context, name string) (bool, error) {
	_, err := a.resourceID(ctx, name)
	if lanyard.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// blobAuthorizer authenticates every Blob request's bearer token and asks RBAC whether its
// principal may perform the operation's action at the container or blob scope.
type blobAuthorizer struct {
	access   *access.Service
	accounts *accounts
	verifier token.Verifier // Audiences are set per account
	blobURL  string
}

var (
	errNoAuthentication = lanyard.Errorf(lanyard.KindUnauthenticated,
		"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.").WithCode("NoAuthenticationInformation")
	errPermissionMismatch = lanyard.Errorf(lanyard.KindPermissionDenied,
		"This request is not authorized to perform this operation using this permission.").WithCode("AuthorizationPermissionMismatch")
)

func (a *blobAuthorizer) Authorize(ctx context.Context, _ *http.Request, req blobapi.AccessRequest) error {
	if req.Token == "" {
		return errNoAuthentication
	}
	v := a.verifier
	// The default audience, or the account's own URL (ClientOptions.Audience), in the
	// path-style form Lanyard serves and the host-style form Azure uses.
	v.Audiences = []string{storageAudience, a.blobURL + "/" + req.Account, "https://" + req.Account + ".blob.core.windows.net"}
	claims, err := a.access.Authenticate(ctx, &v, req.Token, time.Now())
	if err != nil {
		if lanyard.KindOf(err) != lanyard.KindUnauthenticated {
			return err
		}
		return &lanyard.Error{Kind: lanyard.KindUnauthenticated, Code: "InvalidAuthenticationInfo", Message: lanyard.MessageOf(err)}
	}
	scope, err := a.accounts.resourceID(ctx, req.Account)
	if err != nil {
		return err
	}
	if req.Scope != "" {
		scope += "/" + req.Scope
	}
	d := a.access.Evaluate(rbac.Request{PrincipalID: claims.ObjectID, Action: req.Action, DataAction: req.DataAction, Scope: scope, Brief: true})
	if !d.Allowed {
		return errPermissionMismatch
	}
	return nil
}

// deleteAccountData removes every container of a deleted storage account.
func deleteAccountData(ctx context.Context, svc *blob.Service, account string, logger *slog.Logger) {
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
