package blobapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"sort"
	"strconv"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// appendBlobsPage renders a List Blobs page by hand. encoding/xml reflects over every
// field of every entry, which made a 5,000-entry page cost more than the listing itself;
// this writes the same bytes (a test compares the two).
func appendBlobsPage(b *bytes.Buffer, pg blobsPage) {
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="`)
	escape(b, pg.ServiceEndpoint)
	b.WriteString(`" ContainerName="`)
	escape(b, pg.ContainerName)
	b.WriteString(`">`)
	if pg.Prefix != nil {
		element(b, "Prefix", *pg.Prefix)
	}
	if pg.Marker != nil {
		element(b, "Marker", *pg.Marker)
	}
	if pg.MaxResults != nil {
		element(b, "MaxResults", strconv.Itoa(*pg.MaxResults))
	}
	if pg.Delimiter != nil {
		element(b, "Delimiter", *pg.Delimiter)
	}
	b.WriteString("<Blobs>")
	for _, en := range pg.Blobs.entries {
		if en.Prefix != "" {
			b.WriteString("<BlobPrefix>")
			element(b, "Name", en.Prefix)
			b.WriteString("</BlobPrefix>")
			continue
		}
		appendBlob(b, en, pg.Blobs)
	}
	b.WriteString("</Blobs>")
	element(b, "NextMarker", pg.NextMarker)
	b.WriteString("</EnumerationResults>")
}

func appendBlob(b *bytes.Buffer, en blob.ListEntry, opts blobEntries) {
	p := en.Blob
	withMeta, withTags, now := opts.withMeta, opts.withTags, opts.now
	b.WriteString("<Blob>")
	element(b, "Name", p.Name)
	if en.Deleted != nil {
		b.WriteString("<Deleted>true</Deleted>")
	}
	if en.Snapshot != "" {
		element(b, "Snapshot", en.Snapshot)
	}
	if en.Version != "" {
		element(b, "VersionId", en.Version)
		element(b, "IsCurrentVersion", strconv.FormatBool(en.IsCurrentVersion))
	}
	if en.HasVersionsOnly {
		b.WriteString("<HasVersionsOnly>true</HasVersionsOnly>")
	}
	b.WriteString("<Properties>")
	element(b, "Creation-Time", httpTime(p.CreatedAt))
	element(b, "Last-Modified", httpTime(p.LastModified))
	element(b, "Etag", p.ETag)
	element(b, "Content-Length", strconv.FormatInt(p.Size, 10))
	element(b, "Content-Type", p.ContentType)
	optional(b, "Content-Encoding", p.ContentEncoding)
	optional(b, "Content-Language", p.ContentLanguage)
	if len(p.ContentMD5) > 0 {
		element(b, "Content-MD5", base64.StdEncoding.EncodeToString(p.ContentMD5))
	}
	optional(b, "Content-Disposition", p.ContentDisposition)
	optional(b, "Cache-Control", p.CacheControl)
	if p.BlobType == blob.BlobTypePage {
		element(b, "x-ms-blob-sequence-number", strconv.FormatInt(p.SequenceNumber, 10))
	}
	element(b, "BlobType", blobType(p))
	writeTierXML(b, p)
	lease := viewLease(p.Lease, now)
	element(b, "LeaseStatus", lease.status)
	element(b, "LeaseState", lease.state)
	optional(b, "LeaseDuration", lease.duration)
	if c := p.Copy; opts.withCopy && c != nil {
		element(b, "CopyId", c.ID)
		element(b, "CopySource", c.Source)
		element(b, "CopyStatus", c.Status)
		element(b, "CopyProgress", c.Progress)
		element(b, "CopyCompletionTime", httpTime(c.CompletionTime))
	}
	b.WriteString("<ServerEncrypted>true</ServerEncrypted>")
	if len(p.Tags) > 0 { // shown without include=tags too, as Azure does
		element(b, "TagCount", strconv.Itoa(len(p.Tags)))
	}
	if p.Sealed {
		b.WriteString("<Sealed>true</Sealed>")
	}
	if d := en.Deleted; d != nil {
		element(b, "DeletedTime", httpTime(d.At))
		element(b, "RemainingRetentionDays", strconv.Itoa(remainingDays(d.Until, now)))
	}
	b.WriteString("</Properties>")
	if withMeta {
		b.WriteString("<Metadata>")
		keys := make([]string, 0, len(p.Metadata))
		for k := range p.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			element(b, k, p.Metadata[k])
		}
		b.WriteString("</Metadata>")
	}
	if withTags && len(p.Tags) > 0 {
		appendTags(b, p.Tags)
	}
	b.WriteString("</Blob>")
}

func element(b *bytes.Buffer, name, text string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
	escape(b, text)
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

func optional(b *bytes.Buffer, name, text string) {
	if text != "" {
		element(b, name, text)
	}
}

// escape writes s as XML character data, exactly as encoding/xml escapes it.
func escape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			_ = xml.EscapeText(b, []byte(s))
			return
		}
	}
	b.WriteString(s) // the common case: nothing to escape
}

// remainingDays is what is left of a soft-deleted state's retention, in whole days
// rounded up, as RemainingRetentionDays reports it.
func remainingDays(until, now time.Time) int {
	left := until.Sub(now)
	if left <= 0 {
		return 0
	}
	return int((left + 24*time.Hour - 1) / (24 * time.Hour))
}
