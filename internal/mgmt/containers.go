package mgmt

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Blob services and containers as ARM resources (Microsoft.Storage/storageAccounts/
// blobServices[/containers]), the control-plane view of what the Blob endpoint serves: the
// one blob service "default" of each account, and its containers, kept where Blob keeps
// them.

const (
	blobServiceType = lanyard.TypeStorageAccount + "/blobServices"
	containerType   = blobServiceType + "/containers"
)

// Containers is what the API needs of Blob Storage; *blob.Service is one.
type Containers interface {
	CreateContainer(ctx context.Context, account, name string, md blob.Metadata) (blob.Container, error)
	GetContainer(ctx context.Context, account, name string) (blob.Container, error)
	SetContainerMetadata(ctx context.Context, account, name string, md blob.Metadata, cond blob.Conditions) (blob.Container, error)
	DeleteContainer(ctx context.Context, account, name string, cond blob.Conditions) error
	ListContainers(ctx context.Context, account string, opts blob.ListContainersOptions) (blob.ListContainersResult, error)
}

// blobServiceJSON is the account's blob service. Its properties say what Lanyard's Blob
// endpoint does: blob versioning and blob soft delete as the account has them; no
// container soft delete, change feed, or restore.
type blobServiceJSON struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
}

func blobService(acct lanyard.StorageAccount) blobServiceJSON {
	off := map[string]any{"enabled": false}
	retention := off
	if acct.BlobDeleteRetentionDays > 0 {
		retention = map[string]any{"enabled": true, "days": acct.BlobDeleteRetentionDays}
	}
	return blobServiceJSON{
		ID: acct.ResourceID + "/blobServices/default", Name: "default", Type: blobServiceType,
		Properties: map[string]any{
			"cors":                           map[string]any{"corsRules": []any{}},
			"deleteRetentionPolicy":          retention,
			"containerDeleteRetentionPolicy": off,
			"changeFeed":                     off,
			"restorePolicy":                  off,
			"isVersioningEnabled":            acct.BlobVersioning,
		},
	}
}

// serviceAccount returns the account of a blob service route (subscription, group,
// account, service[, ...]): only "default" exists, as in Azure.
func (h *Handler) serviceAccount(ctx context.Context, args []string) (lanyard.StorageAccount, error) {
	acct, err := h.Directory.GetStorageAccount(ctx, args[1], args[2])
	if err != nil {
		return acct, err
	}
	if !strings.EqualFold(args[3], "default") {
		return acct, lanyard.Errorf(lanyard.KindNotFound, "The blob service '%s' was not found: an account has one, 'default'.", clip(args[3])).WithCode("ResourceNotFound")
	}
	return acct, nil
}

func (h *Handler) listBlobServices(w http.ResponseWriter, r *http.Request, args []string) error {
	acct, err := h.Directory.GetStorageAccount(r.Context(), args[1], args[2])
	if err != nil {
		return err
	}
	writeList(w, []blobServiceJSON{blobService(acct)})
	return nil
}

func (h *Handler) getBlobService(w http.ResponseWriter, r *http.Request, args []string) error {
	acct, err := h.serviceAccount(r.Context(), args)
	return h.reply(w, http.StatusOK, blobService(acct), err)
}

// putBlobService sets blob versioning (isVersioningEnabled) and blob soft delete
// (deleteRetentionPolicy); a property left out keeps its value, as in Azure. Every other
// property must ask for what Lanyard's Blob endpoint already has (off, no CORS rules):
// any other is refused, rather than answered as a setting Lanyard would not keep.
// PATCH does the same.
func (h *Handler) putBlobService(w http.ResponseWriter, r *http.Request, args []string) error {
	if _, err := h.serviceAccount(r.Context(), args); err != nil {
		return err
	}
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	versioning, days, err := dataProtection(body.Properties)
	if err != nil {
		return err
	}
	var unsupported []string
	for k, v := range body.Properties {
		if k != "isVersioningEnabled" && k != "deleteRetentionPolicy" && !switchedOff(v) {
			unsupported = append(unsupported, k)
		}
	}
	if len(unsupported) > 0 {
		slices.Sort(unsupported)
		return apiError(http.StatusBadRequest, "FeatureNotSupported", "Lanyard's Blob endpoint does not support the blob service properties "+clip(strings.Join(unsupported, ", "))+"; leave them out, or disabled.")
	}
	acct, err := h.Directory.SetBlobDataProtection(r.Context(), args[1], args[2], versioning, days)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blobService(acct))
	return nil
}

// Azure's bounds on a blob soft delete retention.
const (
	minRetentionDays = 1
	maxRetentionDays = 365
)

// dataProtection reads isVersioningEnabled and deleteRetentionPolicy from a blob
// service's properties; nil for what is not given. A retention turned off is 0 days.
func dataProtection(props map[string]json.RawMessage) (versioning *bool, days *int, err error) {
	if raw, ok := props["isVersioningEnabled"]; ok && string(raw) != "null" {
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return nil, nil, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", "isVersioningEnabled must be true or false.")
		}
		versioning = &v
	}
	if raw, ok := props["deleteRetentionPolicy"]; ok && string(raw) != "null" {
		var p struct {
			Enabled *bool `json:"enabled"`
			Days    *int  `json:"days"`
		}
		if json.Unmarshal(raw, &p) != nil || p.Enabled == nil {
			return nil, nil, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", "deleteRetentionPolicy needs enabled (true or false) and, when enabled, days.")
		}
		d := 0
		if *p.Enabled {
			if p.Days == nil || *p.Days < minRetentionDays || *p.Days > maxRetentionDays {
				return nil, nil, apiError(http.StatusBadRequest, "InvalidRequestPropertyValue", "deleteRetentionPolicy.days must be between 1 and 365.")
			}
			d = *p.Days
		}
		days = &d
	}
	return versioning, days, nil
}

// switchedOff reports whether a property value asks for nothing: null, false, empty, an
// object with "enabled": false, or an object of such values.
func switchedOff(raw json.RawMessage) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return off(v)
}

func off(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case []any:
		return len(v) == 0
	case map[string]any:
		if enabled, ok := v["enabled"]; ok {
			return enabled == false
		}
		for _, x := range v {
			if !off(x) {
				return false
			}
		}
		return true
	}
	return false
}

// Containers.

type containerJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	ETag       string              `json:"etag"`
	Properties containerProperties `json:"properties"`
}

type containerProperties struct {
	Metadata              map[string]string `json:"metadata"`
	PublicAccess          string            `json:"publicAccess"`
	LastModifiedTime      time.Time         `json:"lastModifiedTime"`
	LeaseStatus           string            `json:"leaseStatus"`
	LeaseState            string            `json:"leaseState"`
	HasImmutabilityPolicy bool              `json:"hasImmutabilityPolicy"`
	HasLegalHold          bool              `json:"hasLegalHold"`
	Deleted               bool              `json:"deleted"`
}

func container(acct lanyard.StorageAccount, c blob.Container) containerJSON {
	md := map[string]string(c.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	return containerJSON{
		ID: acct.ResourceID + "/blobServices/default/containers/" + c.Name, Name: c.Name, Type: containerType, ETag: `"` + c.ETag + `"`,
		Properties: containerProperties{Metadata: md, PublicAccess: "None", LastModifiedTime: c.LastModified, LeaseStatus: "Unlocked", LeaseState: "Available"},
	}
}

// containersReady refuses for a server whose Blob service is off.
func (h *Handler) containersReady() error {
	if h.Containers == nil {
		return lanyard.Errorf(lanyard.KindUnavailable, "Blob Storage is not serving on this server.").WithCode("ServiceUnavailable")
	}
	return nil
}

// Route arguments: subscription, group, account, service[, container].

func (h *Handler) listContainers(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.containersReady(); err != nil {
		return err
	}
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	p, err := parsePage(r, "containers")
	if err != nil {
		return err
	}
	// The token carries Blob's own marker, where the next page starts.
	res, err := h.Containers.ListContainers(r.Context(), acct.Name, blob.ListContainersOptions{Marker: p.after, MaxResults: p.top})
	if err != nil {
		return err
	}
	out := make([]containerJSON, 0, len(res.Containers))
	for _, c := range res.Containers {
		out = append(out, container(acct, c))
	}
	writePage(w, r, p, out, res.NextMarker)
	return nil
}

type containerBody struct {
	Properties struct {
		Metadata     map[string]string `json:"metadata"`
		PublicAccess string            `json:"publicAccess"`
	} `json:"properties"`
}

// readContainerBody decodes a PUT or PATCH, refusing anonymous access: Lanyard serves
// bearer tokens only, as an account with allowBlobPublicAccess false does.
func readContainerBody(r *http.Request) (containerBody, error) {
	var body containerBody
	if err := decode(r, &body); err != nil {
		return body, err
	}
	if pa := body.Properties.PublicAccess; pa != "" && !strings.EqualFold(pa, "None") {
		return body, apiError(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
	}
	return body, nil
}

// putContainer creates a container (201) or, for one that exists, replaces its metadata
// (200): a redeploy of the same template succeeds.
func (h *Handler) putContainer(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.containersReady(); err != nil {
		return err
	}
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	body, err := readContainerBody(r)
	if err != nil {
		return err
	}
	md := blob.Metadata(body.Properties.Metadata)
	c, err := h.Containers.CreateContainer(r.Context(), acct.Name, args[4], md)
	if lanyard.CodeOf(err) == blob.CodeContainerAlreadyExists {
		c, err = h.Containers.SetContainerMetadata(r.Context(), acct.Name, args[4], md, blob.Conditions{})
		return h.reply(w, http.StatusOK, container(acct, c), err)
	}
	return h.reply(w, http.StatusCreated, container(acct, c), err)
}

// patchContainer replaces the metadata of a container that exists.
func (h *Handler) patchContainer(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.containersReady(); err != nil {
		return err
	}
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	body, err := readContainerBody(r)
	if err != nil {
		return err
	}
	c, err := h.Containers.SetContainerMetadata(r.Context(), acct.Name, args[4], blob.Metadata(body.Properties.Metadata), blob.Conditions{})
	return h.reply(w, http.StatusOK, container(acct, c), err)
}

func (h *Handler) getContainer(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.containersReady(); err != nil {
		return err
	}
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	c, err := h.Containers.GetContainer(r.Context(), acct.Name, args[4])
	return h.reply(w, http.StatusOK, container(acct, c), err)
}

func (h *Handler) deleteContainer(w http.ResponseWriter, r *http.Request, args []string) error {
	if err := h.containersReady(); err != nil {
		return err
	}
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	err = h.Containers.DeleteContainer(r.Context(), acct.Name, args[4], blob.Conditions{})
	if lanyard.CodeOf(err) == blob.CodeContainerNotFound {
		w.WriteHeader(http.StatusNoContent) // ARM: deleting what is not there is not an error
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
