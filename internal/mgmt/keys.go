package mgmt

import (
	"net/http"

	"github.com/lanyard-id/lanyard/internal/keys"
)

// Keys.

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request, _ []string) {
	ks := h.Keys.List()
	writeList(w, views(ks, key))
}

func (h *Handler) rotateKey(w http.ResponseWriter, r *http.Request, _ []string) {
	k, err := h.Keys.Rotate(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, info := range h.Keys.List() {
		if info.ID == k.ID {
			writeJSON(w, http.StatusOK, key(info))
			return
		}
	}
	writeJSON(w, http.StatusOK, key(keys.KeyInfo{ID: k.ID, CreatedAt: k.CreatedAt, Active: true, Published: true}))
}
