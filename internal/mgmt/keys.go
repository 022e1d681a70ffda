package mgmt

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/keys"
)

// Keys.

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ []string) error {
	ks := h.Keys.List()
	writeList(w, views(ks, key))
	return nil
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, _ []string) error {
	k, err := h.Keys.Rotate(r.Context())
	if err != nil {
		return err
	}
	for _, info := range h.Keys.List() {
		if info.ID == k.ID {
			writeJSON(w, http.StatusOK, key(info))
			return nil
		}
	}
	writeJSON(w, http.StatusOK, key(keys.KeyInfo{ID: k.ID, CreatedAt: k.CreatedAt, Active: true, Published: true}))
	return nil
}
