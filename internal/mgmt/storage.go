package mgmt

import (
	"net/http"
	"strings"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

type accountJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Kind     string            `json:"kind"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
	SKU      struct {
		Name string `json:"name"`
		Tier string `json:"tier"`
	} `json:"sku"`
	Properties struct {
		ProvisioningState string        `json:"provisioningState"`
		PrimaryEndpoints  endpointsJSON `json:"primaryEndpoints"`
		// SecondaryEndpoints are a read-access geo-redundant account's read-only
		// endpoints (Azure's <account>-secondary hosts; here the path /<account>-secondary).
		SecondaryEndpoints   *endpointsJSON `json:"secondaryEndpoints,omitempty"`
		AllowSharedKeyAccess bool           `json:"allowSharedKeyAccess"`
	} `json:"properties"`
}

type endpointsJSON struct {
	Blob string `json:"blob"`
}

// accountBody is the body of a storage account's PUT or PATCH.
type accountBody struct {
	resourceBody
	SKU *struct {
		Name string `json:"name"`
	} `json:"sku"`
}

// skuName is the SKU body names: "" when it names none, which keeps an account's SKU
// (and gives a new one the default).
func (b accountBody) skuName() (string, error) {
	if b.SKU == nil {
		return "", nil
	}
	if b.SKU.Name == "" {
		return "", apiError(http.StatusBadRequest, "InvalidAccountType", "The SKU specified is not valid: sku.name is empty.")
	}
	return b.SKU.Name, nil
}

func (h *Handler) account(a lanyard.StorageAccount) accountJSON {
	out := accountJSON{ID: a.ResourceID, Name: a.Name, Type: lanyard.TypeStorageAccount, Kind: "StorageV2", Location: a.Location, Tags: tagsOrEmpty(a.Tags)}
	out.SKU.Name, out.SKU.Tier = a.SKU, lanyard.StorageSKUTier(a.SKU)
	out.Properties.ProvisioningState = "Succeeded"
	if h.Env.BlobBaseURL != "" {
		out.Properties.PrimaryEndpoints.Blob = h.Env.BlobBaseURL + "/" + a.Name + "/"
		if lanyard.ReadableSecondary(a.SKU) {
			out.Properties.SecondaryEndpoints = &endpointsJSON{Blob: h.Env.BlobBaseURL + "/" + a.Name + "-secondary/"}
		}
	}
	return out
}

func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, args []string) error {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	p, err := parsePage(r, "storageAccounts")
	if err != nil {
		return err
	}
	as, next, err := storePage(p, func(a lanyard.StorageAccount) string { return a.Name }, func(after string, limit int) ([]lanyard.StorageAccount, error) {
		return h.Directory.ListStorageAccountsPage(r.Context(), group, after, limit)
	})
	if err != nil {
		return err
	}
	writePage(w, r, p, views(as, h.account), next)
	return nil
}

func (h *Handler) putAccount(w http.ResponseWriter, r *http.Request, args []string) error {
	var body accountBody
	if err := decode(r, &body); err != nil {
		return err
	}
	sku, err := body.skuName()
	if err != nil {
		return err
	}
	a, created, err := h.Directory.PutStorageAccount(r.Context(), args[1], args[2], body.Location, sku, body.Tags)
	// The account is ready when the PUT returns, so 200 with provisioningState Succeeded:
	// the spec allows 200 or 202 (long-running), never 201.
	return h.putDone(w, r, created, h.account(a), err)
}

// patchAccount changes the tags and the SKU of an existing account; it never creates one.
func (h *Handler) patchAccount(w http.ResponseWriter, r *http.Request, args []string) error {
	var body accountBody
	if err := decode(r, &body); err != nil {
		return err
	}
	sku, err := body.skuName()
	if err != nil {
		return err
	}
	a, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2])
	if err == nil {
		a, _, err = h.Directory.PutStorageAccount(r.Context(), a.ResourceGroup, a.Name, a.Location, sku, body.Tags)
	}
	return h.reply(w, http.StatusOK, h.account(a), err)
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, args []string) error {
	a, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2])
	return h.reply(w, http.StatusOK, h.account(a), err)
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, args []string) error {
	err := h.Directory.DeleteStorageAccount(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkAccountName answers Microsoft.Storage/checkNameAvailability.
func (h *Handler) checkAccountName(w http.ResponseWriter, r *http.Request, _ []string) error {
	var body struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if !strings.EqualFold(body.Type, lanyard.TypeStorageAccount) {
		return apiError(http.StatusBadRequest, "InvalidResourceType", "The type '"+clip(body.Type)+"' is not valid; use "+lanyard.TypeStorageAccount+".")
	}
	n, err := h.Directory.CheckStorageAccountName(r.Context(), body.Name)
	out := struct {
		NameAvailable bool   `json:"nameAvailable"`
		Reason        string `json:"reason,omitempty"`
		Message       string `json:"message,omitempty"`
	}{n.Available, n.Reason, n.Message}
	return h.reply(w, http.StatusOK, out, err)
}

// listAccountKeys answers ListKeys as Azure does for an account whose shared key access is
// disabled, which every Lanyard account is: it has no keys, only Entra authorization.
func (h *Handler) listAccountKeys(w http.ResponseWriter, r *http.Request, args []string) error {
	if _, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2]); err != nil {
		return err
	}
	return apiError(http.StatusForbidden, "KeyBasedAuthenticationNotPermitted",
		"Key based authentication is not permitted on this storage account: Lanyard's accounts have no keys (allowSharedKeyAccess is false); use a role assignment and a bearer token.")
}

// revokeUserDelegationKeys answers Revoke User Delegation Keys: 200 with no body, as Azure.
func (h *Handler) revokeUserDelegationKeys(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.Directory.RevokeUserDelegationKeys(r.Context(), args[1], args[2]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
