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
	SoftDeleteContainer(ctx context.Context, account, name string, cond blob.Conditions, retain time.Duration) (blob.Container, error)
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
	return blobServiceJSON{
		ID: acct.ResourceID + "/blobServices/default", Name: "default", Type: blobServiceType,
		Properties: map[string]any{
			"cors":                     map[string]any{"corsRules": []any{}},
			blobRetentionProperty:      retentionPolicy(acct.BlobDeleteRetentionDays),
			containerRetentionProperty: retentionPolicy(acct.ContainerDeleteRetentionDays),
			"changeFeed":               off,
			"restorePolicy":            off,
			versioningProperty:         acct.BlobVersioning,
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
	acct, err := h.serviceAccount(r.Context(), args)
	if err != nil {
		return err
	}
	var body struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	change, err := takeBlobProtection(body.Properties)
	if err != nil {
		return err
	}
	var unsupported []string
	for k, v := range body.Properties {
		if !switchedOff(v) {
			unsupported = append(unsupported, k)
		}
	}
	if len(unsupported) > 0 {
		slices.Sort(unsupported)
		return apiError(http.StatusBadRequest, "FeatureNotSupported", "Lanyard's Blob endpoint does not support the blob service properties "+clip(strings.Join(unsupported, ", "))+"; leave them out, or disabled.")
	}
	if hasBlobProtection(change) {
		if acct, err = h.Directory.SetBlobProtection(r.Context(), args[1], args[2], change); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, blobService(acct))
	return nil
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
	// Set on a soft-deleted container ($include=deleted).
	DeletedTime            *time.Time `json:"deletedTime,omitempty"`
	RemainingRetentionDays int        `json:"remainingRetentionDays,omitempty"`
	Version                string     `json:"version,omitempty"`
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
	include, _ := queryValue(r.URL.Query(), "$include")
	if include != "" && !strings.EqualFold(include, "deleted") {
		return lanyard.Errorf(lanyard.KindInvalid, "The value '%s' of $include is not valid; the one value is 'deleted'.", clip(include)).WithCode("InvalidQueryParameterValue")
	}
	res, err := h.Containers.ListContainers(r.Context(), acct.Name, blob.ListContainersOptions{Marker: p.after, MaxResults: p.top, Deleted: include != ""})
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]containerJSON, 0, len(res.Containers))
	for _, c := range res.Containers {
		cj := container(acct, c)
		if c.Version != "" {
			deleted := c.DeletedTime
			cj.Properties.Deleted, cj.Properties.DeletedTime, cj.Properties.Version = true, &deleted, c.Version
			cj.Properties.RemainingRetentionDays = c.RemainingRetentionDays(now)
		}
		out = append(out, cj)
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
	retain := time.Duration(acct.ContainerDeleteRetentionDays) * 24 * time.Hour
	_, err = h.Containers.SoftDeleteContainer(r.Context(), acct.Name, args[4], blob.Conditions{}, retain)
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
