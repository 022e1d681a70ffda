package mgmt

import (
	"net/http"

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
		ProvisioningState string `json:"provisioningState"`
		PrimaryEndpoints  struct {
			Blob string `json:"blob"`
		} `json:"primaryEndpoints"`
		AllowSharedKeyAccess bool `json:"allowSharedKeyAccess"`
	} `json:"properties"`
}

func (h *Handler) account(a lanyard.StorageAccount) accountJSON {
	out := accountJSON{ID: a.ResourceID, Name: a.Name, Type: lanyard.TypeStorageAccount, Kind: "StorageV2", Location: a.Location, Tags: tagsOrEmpty(a.Tags)}
	out.SKU.Name, out.SKU.Tier = "Standard_LRS", "Standard"
	out.Properties.ProvisioningState = "Succeeded"
	if h.Env.BlobBaseURL != "" {
		out.Properties.PrimaryEndpoints.Blob = h.Env.BlobBaseURL + "/" + a.Name + "/"
	}
	return out
}

func (h *Handler) listAccounts(w http.ResponseWriter, r *http.Request, args []string) {
	group := ""
	if len(args) > 1 {
		group = args[1]
	}
	as, err := h.Directory.ListStorageAccounts(r.Context(), group)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]accountJSON, 0, len(as))
	for _, a := range as {
		out = append(out, h.account(a))
	}
	writeList(w, out)
}

func (h *Handler) putAccount(w http.ResponseWriter, r *http.Request, args []string) {
	var body resourceBody
	if !h.decode(w, r, &body) {
		return
	}
	a, created, err := h.Directory.PutStorageAccount(r.Context(), args[1], args[2], body.Location, body.Tags)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, createdStatus(created), h.account(a))
}

// patchAccount changes the tags of an existing account; it never creates one.
func (h *Handler) patchAccount(w http.ResponseWriter, r *http.Request, args []string) {
	var body resourceBody
	if !h.decode(w, r, &body) {
		return
	}
	a, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2])
	if err == nil {
		a, _, err = h.Directory.PutStorageAccount(r.Context(), a.ResourceGroup, a.Name, a.Location, body.Tags)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.account(a))
}

func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request, args []string) {
	a, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.account(a))
}

func (h *Handler) deleteAccount(w http.ResponseWriter, r *http.Request, args []string) {
	err := h.Directory.DeleteStorageAccount(r.Context(), args[1], args[2])
	if lanyard.IsNotFound(err) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
