package cli

import (
	"encoding/json"
	"net/http"
	"testing"
)

// storage account create sends --sku, az's default Standard_RAGRS without it.
func TestStorageAccountCreateSKU(t *testing.T) {
	f := newFakeAPI(t)
	var skus []string
	path := "/subscriptions/sub-1/resourceGroups/demo/providers/Microsoft.Storage/storageAccounts/acct1"
	f.routes["PUT "+path] = func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Kind string `json:"kind"`
			SKU  struct {
				Name string `json:"name"`
			} `json:"sku"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Kind != "StorageV2" {
			t.Errorf("PUT body: %+v, %v", body, err)
		}
		skus = append(skus, body.SKU.Name)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "acct1", "sku": map[string]any{"name": body.SKU.Name}})
	}
	for _, args := range [][]string{{}, {"--sku", "Standard_LRS"}} {
		out, errOut, code := f.run(append([]string{"storage", "account", "create", "-g", "demo", "-n", "acct1", "--query", "sku.name", "-o", "tsv"}, args...)...)
		if code != 0 {
			t.Fatalf("create %v: exit %d, %s", args, code, errOut)
		}
		if want := skus[len(skus)-1] + "\n"; out != want {
			t.Errorf("create %v printed %q; want %q", args, out, want)
		}
	}
	if len(skus) != 2 || skus[0] != "Standard_RAGRS" || skus[1] != "Standard_LRS" {
		t.Fatalf("SKUs sent: %v; want [Standard_RAGRS Standard_LRS]", skus)
	}
}
