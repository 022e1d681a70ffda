package blobapi

import (
	"context"
	"net/http"
	"strings"
)

// Authorizer decides whether a request may run. The Handler calls it on every request
// after routing and before reading the body.
//
// It returns nil to allow, or a *lanyard.Error of
//   - KindUnauthenticated with code NoAuthenticationInformation (no token: req.Token is
//     "") or InvalidAuthenticationInfo (a token that does not verify: bad signature,
//     expired, wrong audience); the Handler answers 401 with a bearer challenge, and puts
//     the error's message in AuthenticationErrorDetail;
//   - KindPermissionDenied with code AuthorizationPermissionMismatch when RBAC denies; 403.
//
// Any other error is answered as Azure would answer its kind and code.
//
// Authenticate checks the token alone, for a Blob Batch, whose sub-requests are each
// authorized on their own; req.Action is empty. It fails as Authorize does for a
// missing or bad token. The context it returns is the one the sub-requests run in: an
// Authorizer may note there that the token was just authenticated.
type Authorizer interface {
	Authorize(ctx context.Context, r *http.Request, req AccessRequest) error
	Authenticate(ctx context.Context, r *http.Request, req AccessRequest) (context.Context, error)
}

// AccessRequest is what a request needs permission for.
type AccessRequest struct {
	Account   string
	Container string // "" for account-level operations
	Blob      string // "" for account- and container-level operations
	// Operation is the REST operation, e.g. "PutBlob", for audit logs.
	Operation string
	// Action is the full RBAC action or data action, e.g.
	// Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read.
	Action string
	// DataAction reports whether Action is a data action (blob data) rather than an
	// action (containers), which RBAC evaluates against different lists.
	DataAction bool
	// Scope is the ARM scope of the target below the storage account, to be appended to
	// the account's resource id: "" for the account itself,
	// "blobServices/default/containers/{c}" or
	// "blobServices/default/containers/{c}/blobs/{b}".
	Scope string
	// Token is the bearer token of the request, "" when it carries none.
	Token string
	// SubOperation refines Action for ABAC conditions, e.g. "Blob.List"; "" when none.
	SubOperation string
	// Attributes supplies the attributes ABAC conditions may ask for beyond the scope
	// (blob index tags), as rbac.Request.Attributes; nil when the operation has none.
	Attributes func(source, name string) (values []string, ok bool)
	// Credential is CredentialUserDelegationSAS for a request authorized by a SAS, whose
	// principal is the SAS's, for the audit trail; "" for a bearer token.
	Credential string
}

// AccountLookup tells whether a storage account exists, and its SKU. Requests for an
// unknown account are answered 404 ResourceNotFound before authorization, as Azurite does
// (Azure itself fails earlier, at DNS). The SKU says whether the account has a readable
// secondary endpoint (secondary.go) and is what Get Account Information reports.
type AccountLookup interface {
	// AccountSKU returns account name's SKU (sku.name, e.g. Standard_RAGRS); ok is false
	// when there is no such account.
	AccountSKU(ctx context.Context, name string) (sku string, ok bool, err error)
}

// RBAC actions of the operations served (authorize-with-azure-active-directory).
const (
	actionPrefix           = "Microsoft.Storage/storageAccounts/blobServices/"
	ActionContainersRead   = actionPrefix + "containers/read"
	ActionContainersWrite  = actionPrefix + "containers/write"
	ActionContainersDelete = actionPrefix + "containers/delete"
	ActionBlobsRead        = actionPrefix + "containers/blobs/read"
	ActionBlobsWrite       = actionPrefix + "containers/blobs/write"
	ActionBlobsAdd         = actionPrefix + "containers/blobs/add/action"
	ActionBlobsDelete      = actionPrefix + "containers/blobs/delete"
	ActionBlobTagsRead     = actionPrefix + "containers/blobs/tags/read"
	ActionBlobTagsWrite    = actionPrefix + "containers/blobs/tags/write"
	ActionBlobsFilter      = actionPrefix + "containers/blobs/filter/action"
	// ActionGenerateUserDelegationKey is Get User Delegation Key's.
	ActionGenerateUserDelegationKey = actionPrefix + "generateUserDelegationKey/action"
)

// scopeOf builds AccessRequest.Scope.
func scopeOf(container, blobName string) string {
	if container == "" {
		return ""
	}
	s := "blobServices/default/containers/" + container
	if blobName != "" {
		s += "/blobs/" + blobName
	}
	return s
}

// bearerToken extracts the bearer token of a request without a SAS: a missing one is
// passed on as "" (the Authorizer answers NoAuthenticationInformation), shared keys are
// refused as on an account with key access disabled, and anything else is a malformed
// header.
func bearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", nil
	}
	malformed := &apiError{status: http.StatusBadRequest, code: "InvalidAuthenticationInfo",
		message: "Authentication information is not given in the correct format. Check the value of Authorization header."}
	if len(vals) > 1 {
		return "", malformed
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if cred == "" || strings.ContainsAny(cred, " \t") {
			return "", malformed
		}
		return cred, nil
	case strings.EqualFold(scheme, "SharedKey"), strings.EqualFold(scheme, "SharedKeyLite"):
		return "", &apiError{status: http.StatusForbidden, code: "KeyBasedAuthenticationNotPermitted",
			message: "Key based authentication is not permitted on this storage account."}
	}
	return "", malformed
}
