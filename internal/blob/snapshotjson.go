package blob

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// snapshotJSON is one snapshot, version or soft-deleted state in the form both
// MetaStores keep it (EncodeHistory), so that the format is defined once.
type snapshotJSON struct {
	ID          string            `json:"id"`
	Kind        StateKind         `json:"k,omitempty"`
	Deleted     *deletionJSON     `json:"del,omitempty"`
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

type deletionJSON struct {
	At    time.Time  `json:"at"`
	Until *time.Time `json:"until,omitempty"`
}

func encodeDeletion(d *Deletion) *deletionJSON {
	if d == nil {
		return nil
	}
	j := &deletionJSON{At: d.At}
	if !d.Until.IsZero() {
		u := d.Until
		j.Until = &u
	}
	return j
}

func decodeDeletion(j *deletionJSON) *Deletion {
	if j == nil {
		return nil
	}
	d := &Deletion{At: j.At.UTC()}
	if j.Until != nil {
		d.Until = j.Until.UTC()
	}
	return d
}

// historyJSON is a record's history when the record has more to say than its snapshots:
// its current version id, or that it is a tombstone. Records without either keep the
// bare array of states, as before versions existed, so the first byte tells the forms
// apart.
type historyJSON struct {
	Version   string         `json:"v,omitempty"`
	Tombstone bool           `json:"tomb,omitempty"`
	States    []snapshotJSON `json:"h,omitempty"`
}

// EncodeHistory encodes what a MetaStore keeps of a blob's history: its snapshots,
// versions and soft-deleted states (BlobRecord.Snapshots), its current version id and
// whether it is a tombstone. It returns nil when there is none of these.
func EncodeHistory(rec *BlobRecord) ([]byte, error) {
	if rec.VersionID == "" && !rec.Tombstone {
		return encodeSnapshots(rec.Snapshots)
	}
	b, err := json.Marshal(historyJSON{Version: rec.VersionID, Tombstone: rec.Tombstone, States: snapshotsJSON(rec.Snapshots)})
	if err != nil {
		return nil, fmt.Errorf("encode blob history: %w", err)
	}
	return b, nil
}

// DecodeHistory decodes what EncodeHistory made into rec; empty input is no history.
func DecodeHistory(b []byte, rec *BlobRecord) error {
	rec.Snapshots, rec.VersionID, rec.Tombstone = nil, "", false
	if len(b) == 0 {
		return nil
	}
	if b[0] != '{' {
		snaps, err := decodeSnapshots(b)
		rec.Snapshots = snaps
		return err
	}
	var h historyJSON
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("decode blob history: %w", err)
	}
	rec.VersionID, rec.Tombstone, rec.Snapshots = h.Version, h.Tombstone, snapshotsOf(h.States)
	return nil
}

// SameHistory reports whether a and b have the same history (EncodeHistory), which a
// MetaStore need not rewrite then: the same states, each with the same deletion, and
// the same version id and tombstone flag. States are immutable but for their deletion
// and a version's tags and tier.
func SameHistory(a, b *BlobRecord) bool {
	return a.VersionID == b.VersionID && a.Tombstone == b.Tombstone &&
		slices.EqualFunc(a.Snapshots, b.Snapshots, func(x, y Snapshot) bool {
			return x.ID == y.ID && x.Kind == y.Kind && x.Deleted.equal(y.Deleted) && maps.Equal(x.Record.Tags, y.Record.Tags) &&
				x.Record.Tier.Tier == y.Record.Tier.Tier
		})
}

type extentJSON struct {
	B  string `json:"b,omitempty"`
	C  string `json:"c,omitempty"`
	S  int64  `json:"s"`
	O  int64  `json:"o,omitempty"`
	CO int64  `json:"co,omitempty"`
	// I is Extent.Inline: bytes, which JSON carries as base64 (a JSON string would
	// replace what is not UTF-8).
	I []byte `json:"i,omitempty"`
}

// encodeSnapshots encodes a blob's states as the bare array; nil for none.
func encodeSnapshots(snaps []Snapshot) ([]byte, error) {
	if len(snaps) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(snapshotsJSON(snaps))
	if err != nil {
		return nil, fmt.Errorf("encode snapshots: %w", err)
	}
	return b, nil
}

func snapshotsJSON(snaps []Snapshot) []snapshotJSON {
	if len(snaps) == 0 {
		return nil
	}
	js := make([]snapshotJSON, len(snaps))
	for i, sn := range snaps {
		r := sn.Record
		h := r.HTTPHeaders
		j := snapshotJSON{ID: sn.ID, Size: r.Size, Type: h.ContentType, Encoding: h.ContentEncoding,
			Language: h.ContentLanguage, Disposition: h.ContentDisposition, Cache: h.CacheControl, MD5: h.ContentMD5,
			Meta: r.Metadata, ETag: r.ETag, Modified: r.LastModified, Created: r.CreatedAt, BlobType: r.BlobType,
			Sealed: r.Sealed, Seq: r.SequenceNumber, Tags: r.Tags, Tier: r.Tier.Tier, Kind: sn.Kind, Deleted: encodeDeletion(sn.Deleted)}
		j.Extents = make([]extentJSON, len(r.Extents))
		for k, e := range r.Extents {
			j.Extents[k] = extentJSON{B: e.BlockID, C: string(e.Content), S: e.Size, O: e.Offset, CO: e.ContentOffset, I: []byte(e.Inline)}
		}
		js[i] = j
	}
	return js
}

// decodeSnapshots decodes the bare array encodeSnapshots made.
func decodeSnapshots(b []byte) ([]Snapshot, error) {
	var js []snapshotJSON
	if err := json.Unmarshal(b, &js); err != nil {
		return nil, fmt.Errorf("decode snapshots: %w", err)
	}
	return snapshotsOf(js), nil
}

func snapshotsOf(js []snapshotJSON) []Snapshot {
	if len(js) == 0 {
		return nil
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
				r.Extents[k] = Extent{BlockID: e.B, Content: ContentID(e.C), Inline: string(e.I), Size: e.S, Offset: e.O, ContentOffset: e.CO}
			}
		}
		out[i] = Snapshot{ID: j.ID, Kind: j.Kind, Deleted: decodeDeletion(j.Deleted), Record: r}
	}
	return out
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
