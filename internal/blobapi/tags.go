package blobapi

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/blob"
	"github.com/lanyard-id/lanyard/internal/rbac"
)

// maxTagsBody bounds Set Blob Tags' body: ten tags of the longest key and value, as XML
// with every character escaped, fit several times over.
const maxTagsBody = 64 << 10

// Blob index tag operations.
var (
	opGetBlobTags = &operation{"GetBlobTags", ActionBlobTagsRead, true, (*Handler).getBlobTags}
	opSetBlobTags = &operation{"SetBlobTags", ActionBlobTagsWrite, true, (*Handler).setBlobTags}
	opFindBlobs   = &operation{"FindBlobsByTags", ActionBlobsFilter, true, (*Handler).findBlobs}
)

// tagsXML is the body of Set and Get Blob Tags.
type tagsXML struct {
	XMLName xml.Name `xml:"Tags"`
	TagSet  struct {
		Tags []tagXML `xml:"Tag"`
	} `xml:"TagSet"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagSet(t blob.Tags) tagsXML {
	var x tagsXML
	x.TagSet.Tags = make([]tagXML, 0, len(t))
	for _, k := range t.Keys() {
		x.TagSet.Tags = append(x.TagSet.Tags, tagXML{Key: k, Value: t[k]})
	}
	return x
}

// requestTags holds the tags a request writes, read once for both the ABAC decision
// (@Request[...tags:key]) and the operation.
type requestTags struct {
	read bool
	tags blob.Tags
	err  error
}

// headerTags reads x-ms-tags (Put Blob, Put Block List, creating append and page blobs).
func headerTags(r *http.Request, t *target) (blob.Tags, error) {
	if t.tags == nil {
		t.tags = &requestTags{}
	}
	if !t.tags.read {
		t.tags.read = true
		t.tags.tags, t.tags.err = blob.ParseTagsHeader(r.Header.Get("x-ms-tags"))
	}
	return t.tags.tags, t.tags.err
}

// bodyTags reads Set Blob Tags' body.
func bodyTags(r *http.Request, t *target) (blob.Tags, error) {
	if t.tags == nil {
		t.tags = &requestTags{}
	}
	if !t.tags.read {
		t.tags.read = true
		t.tags.tags, t.tags.err = parseTagsBody(r)
	}
	return t.tags.tags, t.tags.err
}

func parseTagsBody(r *http.Request) (blob.Tags, error) {
	if r.ContentLength > maxTagsBody {
		return nil, errBodyTooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxTagsBody+1))
	if err != nil {
		return nil, fmt.Errorf("blobapi: reading tags: %w", err)
	}
	if len(body) > maxTagsBody {
		return nil, errBodyTooLarge()
	}
	var x tagsXML
	if err := xml.Unmarshal(body, &x); err != nil {
		return nil, errXML()
	}
	pairs := make([]blob.TagPair, len(x.TagSet.Tags))
	for i, tg := range x.TagSet.Tags {
		pairs[i] = blob.TagPair{Key: tg.Key, Value: tg.Value}
	}
	return blob.ValidateTagList(pairs)
}

func (h *Handler) getBlobTags(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	tags, err := h.Service.GetBlobTagsAt(r.Context(), t.key(), t.at(), cond)
	if err != nil {
		return err
	}
	return writeXML(w, tagSet(tags))
}

func (h *Handler) setBlobTags(w http.ResponseWriter, r *http.Request, t *target) error {
	cond, err := conditions(r)
	if err != nil {
		return err
	}
	tags, err := bodyTags(r, t)
	if err != nil {
		return err
	}
	if err := h.Service.SetBlobTagsAt(r.Context(), t.key(), t.at(), tags, cond); err != nil {
		return err
	}
	return noContent(w, http.StatusNoContent)
}

// findBlobs serves Find Blobs by Tags, of the account or (restype=container) of one
// container.
func (h *Handler) findBlobs(w http.ResponseWriter, r *http.Request, t *target) error {
	where := t.query.Get("where")
	if !t.query.Has("where") {
		return errMissingQuery("where")
	}
	q, err := blob.ParseFindQuery(where, t.container)
	if err != nil {
		// Azure's message is the parser's ("Error parsing query at or near character
		// position ..."), not the generic one of a bad query parameter.
		return &apiError{status: http.StatusBadRequest, code: "InvalidQueryParameterValue", message: describe(err).message,
			details: [][2]string{{"QueryParameterName", "where"}, {"QueryParameterValue", truncate(where, 256)}}}
	}
	p, err := parseList(t.query, nil)
	if err != nil {
		return err
	}
	res, err := h.Service.FindBlobsByTags(r.Context(), t.account, q, blob.FindBlobsOptions{Marker: p.marker, MaxResults: p.max})
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	for _, c := range q.Comparisons {
		keys[c.Key] = true
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="`)
	escape(&b, serviceEndpoint(r, t.account))
	b.WriteString(`">`)
	element(&b, "Where", where)
	b.WriteString("<Blobs>")
	for _, fb := range res.Blobs {
		b.WriteString("<Blob>")
		element(&b, "Name", fb.Name)
		element(&b, "ContainerName", fb.Container)
		// Azure returns the tags the expression names, not the blob's whole set.
		matched := blob.Tags{}
		for k, v := range fb.Tags {
			if keys[k] {
				matched[k] = v
			}
		}
		appendTags(&b, matched)
		b.WriteString("</Blob>")
	}
	b.WriteString("</Blobs>")
	element(&b, "NextMarker", res.NextMarker)
	b.WriteString("</EnumerationResults>")
	return writeXMLBody(w, b.Bytes())
}

// appendTags renders <Tags><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tags>.
func appendTags(b *bytes.Buffer, t blob.Tags) {
	b.WriteString("<Tags><TagSet>")
	for _, k := range t.Keys() {
		b.WriteString("<Tag>")
		element(b, "Key", k)
		element(b, "Value", t[k])
		b.WriteString("</Tag>")
	}
	b.WriteString("</TagSet></Tags>")
}

// blobTagAttributes answers ABAC conditions on a blob's index tags: @Resource from the
// blob's record, @Request from the tags the request writes. Other attributes are left to
// the engine (ok=false).
func (h *Handler) blobTagAttributes(r *http.Request, t *target, op *operation) func(source, name string) ([]string, bool) {
	var resource blob.Tags
	loaded := false
	return func(source, name string) ([]string, bool) {
		key, ok := rbac.BlobTagKey(name)
		if !ok {
			return nil, false
		}
		var tags blob.Tags
		switch source {
		case "Resource", "resource":
			if !loaded {
				var err error
				if resource, err = h.Service.BlobTags(r.Context(), t.key()); err != nil {
					return nil, false // cannot tell: the condition does not grant
				}
				loaded = true
			}
			tags = resource
		case "Request", "request":
			var err error
			switch {
			case op == opSetBlobTags:
				tags, err = bodyTags(r, t)
			case writesTagHeader[op]:
				tags, err = headerTags(r, t)
			default:
				return nil, false
			}
			if err != nil {
				return nil, false
			}
		default:
			return nil, false
		}
		if v, ok := tags[key]; ok {
			return []string{v}, true
		}
		return []string{}, true
	}
}

// writesTagHeader are the operations that take x-ms-tags.
var writesTagHeader = map[*operation]bool{opPutBlob: true, opPutBlockList: true, opCreateAppend: true, opCreatePage: true}

// tagSubOperation is the ABAC sub-operation of op for this request.
func tagSubOperation(r *http.Request, op *operation) string {
	switch {
	case op == opListBlobs:
		return "Blob.List"
	case writesTagHeader[op] && r.Header.Get("x-ms-tags") != "":
		return "Blob.Write.WithTagHeaders"
	case op == opSetBlobTier:
		return "Blob.Write.Tier"
	}
	return ""
}

// tagCount is the x-ms-tag-count header value, "" for a blob without tags.
func tagCount(p blob.BlobProperties) string {
	if len(p.Tags) == 0 {
		return ""
	}
	return strconv.Itoa(len(p.Tags))
}
