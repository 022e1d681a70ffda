package blob

import (
	"encoding/json"
	"fmt"
	"time"
)

// snapshotJSON is one snapshot in the form both MetaStores keep it (EncodeSnapshots), so
// that the format is defined once.
type snapshotJSON struct {
	ID          string            `json:"id"`
	Size        int64             `json:"size"`
	Type        string            `json:"ct,omitempty"`
	Encoding    string            `json:"ce,omitempty"`
	Language    string            `json:"cl,omitempty"`
	Disposition string            `json:"cd,omitempty"`
	Cache       string            `json:"cc,omitempty"`
	MD5         []byte            `json:"md5,omitempty"`
	Meta        map[string]string `json:"md,omitempty"`
	ETag        string            `json:"etag"`
	Modified    time.Time         `json:"mod"`
	Created     time.Time         `json:"cre"`
	BlobType    string            `json:"bt,omitempty"`
	Sealed      bool              `json:"seal,omitempty"`
	Seq         int64             `json:"seq,omitempty"`
	Tags        map[string]string `json:"tg,omitempty"`
	Tier        string            `json:"tr,omitempty"`
	Extents     []extentJSON      `json:"x,omitempty"`
}

type extentJSON struct {
	B  string `json:"b,omitempty"`
	C  string `json:"c,omitempty"`
	S  int64  `json:"s"`
	O  int64  `json:"o,omitempty"`
	CO int64  `json:"co,omitempty"`
}

// EncodeSnapshots encodes a blob's snapshots for a MetaStore to keep; nil for none.
func EncodeSnapshots(snaps []Snapshot) ([]byte, error) {
	if len(snaps) == 0 {
		return nil, nil
	}
	js := make([]snapshotJSON, len(snaps))
	for i, sn := range snaps {
		r := sn.Record
		h := r.HTTPHeaders
		j := snapshotJSON{ID: sn.ID, Size: r.Size, Type: h.ContentType, Encoding: h.ContentEncoding,
			Language: h.ContentLanguage, Disposition: h.ContentDisposition, Cache: h.CacheControl, MD5: h.ContentMD5,
			Meta: r.Metadata, ETag: r.ETag, Modified: r.LastModified, Created: r.CreatedAt, BlobType: r.BlobType,
			Sealed: r.Sealed, Seq: r.SequenceNumber, Tags: r.Tags, Tier: r.Tier.Tier}
		j.Extents = make([]extentJSON, len(r.Extents))
		for k, e := range r.Extents {
			j.Extents[k] = extentJSON{B: e.BlockID, C: string(e.Content), S: e.Size, O: e.Offset, CO: e.ContentOffset}
		}
		js[i] = j
	}
	b, err := json.Marshal(js)
	if err != nil {
		return nil, fmt.Errorf("encode snapshots: %w", err)
	}
	return b, nil
}

// DecodeSnapshots decodes what EncodeSnapshots made; empty input is no snapshots.
func DecodeSnapshots(b []byte) ([]Snapshot, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var js []snapshotJSON
	if err := json.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("decode snapshots: %w", err)
	}
	out := make([]Snapshot, len(js))
	for i, j := range js {
		r := BlobRecord{BlobProperties: BlobProperties{Size: j.Size,
			HTTPHeaders: HTTPHeaders{ContentType: j.Type, ContentEncoding: j.Encoding, ContentLanguage: j.Language,
				ContentDisposition: j.Disposition, CacheControl: j.Cache, ContentMD5: j.MD5},
			Metadata: j.Meta, ETag: j.ETag, LastModified: j.Modified.UTC(), CreatedAt: j.Created.UTC(),
			BlobType: j.BlobType, Sealed: j.Sealed, SequenceNumber: j.Seq, Tags: j.Tags, Tier: AccessTier{Tier: j.Tier}}}
		if len(j.Extents) > 0 {
			r.Extents = make([]Extent, len(j.Extents))
			for k, e := range j.Extents {
				r.Extents[k] = Extent{BlockID: e.B, Content: ContentID(e.C), Size: e.S, Offset: e.O, ContentOffset: e.CO}
			}
		}
		out[i] = Snapshot{ID: j.ID, Record: r}
	}
	return out, nil
}

// SnapshotContents returns the content ids a blob's snapshots reference, for a
// MetaStore's Contents and DeleteContainer.
func SnapshotContents(snaps []Snapshot) []ContentID {
	var ids []ContentID
	for _, sn := range snaps {
		for _, e := range sn.Record.Extents {
			if e.Content != "" {
				ids = append(ids, e.Content)
			}
		}
	}
	return ids
}
