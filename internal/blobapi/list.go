package blobapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Bounds of listing query parameters.
const (
	maxPrefix    = 4 * blob.MaxBlobNameLength // bytes: 1024 characters of up to 4 bytes
	maxMarker    = 8 << 10
	maxDelimiter = 256
)

// listParams reads the query parameters both listings share.
type listParams struct {
	prefix, marker, delimiter string
	max                       int
	hasPrefix, hasMarker      bool
	hasMax, hasDelimiter      bool
	includeMetadata           bool
	includeTags               bool
	includeUncommitted        bool
	includeSnapshots          bool
	includeCopy               bool
	includeVersions           bool
	includeDeleted            bool
	includeDeletedVersions    bool
}

func parseList(q url.Values, allowed map[string]bool) (listParams, error) {
	p := listParams{
		prefix: q.Get("prefix"), marker: q.Get("marker"), delimiter: q.Get("delimiter"),
		hasPrefix: q.Has("prefix"), hasMarker: q.Has("marker"), hasDelimiter: q.Has("delimiter"),
	}
	switch {
	case len(p.prefix) > maxPrefix:
		return p, errInvalidQuery("prefix", p.prefix, "too long")
	case len(p.marker) > maxMarker:
		return p, errInvalidQuery("marker", p.marker, "too long")
	case len(p.delimiter) > maxDelimiter:
		return p, errInvalidQuery("delimiter", p.delimiter, "too long")
	}
	if v := q.Get("maxresults"); q.Has("maxresults") {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return p, errInvalidQuery("maxresults", v, "")
		}
		p.max, p.hasMax = min(n, blob.MaxListResults), true
	}
	for _, v := range q["include"] {
		for _, inc := range strings.Split(v, ",") {
			inc = strings.ToLower(strings.TrimSpace(inc))
			if !allowed[inc] {
				return p, errInvalidQuery("include", v, "")
			}
			p.includeMetadata = p.includeMetadata || inc == "metadata"
			p.includeTags = p.includeTags || inc == "tags"
			p.includeUncommitted = p.includeUncommitted || inc == "uncommittedblobs"
			p.includeSnapshots = p.includeSnapshots || inc == "snapshots"
			p.includeCopy = p.includeCopy || inc == "copy"
			p.includeVersions = p.includeVersions || inc == "versions"
			p.includeDeleted = p.includeDeleted || inc == "deleted"
			p.includeDeletedVersions = p.includeDeletedVersions || inc == "deletedwithversions"
			if inc == "snapshots" && p.hasDelimiter {
				return p, errInvalidQuery("include", v, "snapshots cannot be listed with a delimiter")
			}
		}
	}
	return p, nil
}

// Values Azure allows for include. Those Lanyard has nothing for (a container's
// deleted, system; a blob's immutabilitypolicy, legalhold, permissions) change nothing.
var (
	containerIncludes = map[string]bool{"metadata": true, "deleted": true, "system": true}
	blobIncludes      = map[string]bool{"metadata": true, "snapshots": true, "uncommittedblobs": true,
		"copy": true, "deleted": true, "tags": true, "versions": true, "deletedwithversions": true,
		"immutabilitypolicy": true, "legalhold": true, "permissions": true}
)

// metadataXML renders metadata as <Metadata><name>value</name>...</Metadata>, sorted.
type metadataXML blob.Metadata

func (m metadataXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerXML struct {
	Name string `xml:"Name"`
	// Deleted and Version: a soft-deleted container (include=deleted).
	Deleted    bool          `xml:"Deleted,omitempty"`
	Version    string        `xml:"Version,omitempty"`
	Properties containerProp `xml:"Properties"`
	Metadata   *metadataXML  `xml:"Metadata"`
}

type containerProp struct {
	LastModified          string `xml:"Last-Modified"`
	ETag                  string `xml:"Etag"`
	LeaseStatus           string `xml:"LeaseStatus"`
	LeaseState            string `xml:"LeaseState"`
	LeaseDuration         string `xml:"LeaseDuration,omitempty"`
	DefaultEncryption     string `xml:"DefaultEncryptionScope"`
	DenyEncryptionOvr     bool   `xml:"DenyEncryptionScopeOverride"`
	HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
	HasLegalHold          bool   `xml:"HasLegalHold"`
	// A soft-deleted container's.
	DeletedTime            string `xml:"DeletedTime,omitempty"`
	RemainingRetentionDays int    `xml:"RemainingRetentionDays,omitempty"`
}

type containersPage struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	Prefix          *string  `xml:"Prefix"`
	Marker          *string  `xml:"Marker"`
	MaxResults      *int     `xml:"MaxResults"`
	Containers      struct {
		Items []containerXML `xml:"Container"`
	} `xml:"Containers"`
	NextMarker string `xml:"NextMarker"`
}

func serviceEndpoint(r *http.Request, account string) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host + "/" + account + "/"
}

func (p listParams) echo() (prefix, marker *string, max *int) {
	if p.hasPrefix {
		prefix = &p.prefix
	}
	if p.hasMarker {
		marker = &p.marker
	}
	if p.hasMax {
		max = &p.max
	}
	return prefix, marker, max
}

func (h *Handler) listContainers(w http.ResponseWriter, r *http.Request, t *target) error {
	p, err := parseList(t.query, containerIncludes)
	if err != nil {
		return err
	}
	res, err := h.Service.ListContainers(r.Context(), t.account, blob.ListContainersOptions{
		Prefix: p.prefix, Marker: p.marker, MaxResults: p.max, Deleted: p.includeDeleted,
	})
	if err != nil {
		return err
	}
	page := containersPage{ServiceEndpoint: serviceEndpoint(r, t.account), NextMarker: res.NextMarker}
	page.Prefix, page.Marker, page.MaxResults = p.echo()
	page.Containers.Items = make([]containerXML, 0, len(res.Containers))
	now := h.Service.Now()
	for _, c := range res.Containers {
		lease := viewLease(c.Lease, now)
		x := containerXML{Name: c.Name, Properties: containerProp{
			LastModified: httpTime(c.LastModified), ETag: quote(c.ETag),
			LeaseStatus: lease.status, LeaseState: lease.state, LeaseDuration: lease.duration,
			DefaultEncryption: "$account-encryption-key",
		}}
		if c.Version != "" {
			x.Deleted, x.Version = true, c.Version
			x.Properties.DeletedTime = httpTime(c.DeletedTime)
			x.Properties.RemainingRetentionDays = c.RemainingRetentionDays(now)
		}
		if p.includeMetadata {
			md := metadataXML(c.Metadata)
			x.Metadata = &md
		}
		page.Containers.Items = append(page.Containers.Items, x)
	}
	return writeXML(w, page)
}

// blobEntries are the Blob and BlobPrefix elements of a page, interleaved in name order
// as Azure lists them; appendBlobsPage renders them.
type blobEntries struct {
	entries  []blob.ListEntry
	withMeta bool
	withTags bool
	withCopy bool
	now      time.Time // for the state of leases
}

type blobsPage struct {
	XMLName         xml.Name    `xml:"EnumerationResults"`
	ServiceEndpoint string      `xml:"ServiceEndpoint,attr"`
	ContainerName   string      `xml:"ContainerName,attr"`
	Prefix          *string     `xml:"Prefix"`
	Marker          *string     `xml:"Marker"`
	MaxResults      *int        `xml:"MaxResults"`
	Delimiter       *string     `xml:"Delimiter"`
	Blobs           blobEntries `xml:"-"`
	NextMarker      string      `xml:"NextMarker"`
}

func (h *Handler) listBlobs(w http.ResponseWriter, r *http.Request, t *target) error {
	p, err := parseList(t.query, blobIncludes)
	if err != nil {
		return err
	}
	res, err := h.Service.ListBlobs(r.Context(), t.account, t.container, blob.ListBlobsOptions{
		Prefix: p.prefix, Delimiter: p.delimiter, Marker: p.marker, MaxResults: p.max, Uncommitted: p.includeUncommitted,
		Snapshots: p.includeSnapshots, Versions: p.includeVersions, Deleted: p.includeDeleted,
		DeletedWithVersions: p.includeDeletedVersions,
	})
	if err != nil {
		return err
	}
	page := blobsPage{ServiceEndpoint: serviceEndpoint(r, t.account), ContainerName: t.container,
		Blobs:      blobEntries{entries: res.Entries, withMeta: p.includeMetadata, withTags: p.includeTags, withCopy: p.includeCopy, now: h.Service.Now()},
		NextMarker: res.NextMarker}
	page.Prefix, page.Marker, page.MaxResults = p.echo()
	if p.hasDelimiter {
		page.Delimiter = &p.delimiter
	}
	var body bytes.Buffer
	appendBlobsPage(&body, page)
	return writeXMLBody(w, body.Bytes())
}
