package fsmeta

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanyard-id/lanyard/internal/blob"
)

// Mutation kinds, as journal records name them. A snapshot is a sequence of the same
// records that rebuilds the state from empty.
const (
	opPutContainer = "c+" // create or replace a container
	opDelContainer = "c-" // delete a container with everything in it
	opMovContainer = "c>" // move a container with everything in it, and replace its record
	opPutBlob      = "b+" // commit a blob version
	opSpliceBlob   = "b~" // commit a blob version given as a change of the current one's extents
	opDelBlob      = "b-" // delete a committed blob
	opPutBlock     = "k+" // stage a block (replacing one with the same id)
	opDropBlocks   = "k-" // drop staged blocks by id
	opSnapshot     = "s"  // first record of a snapshot
	opEnd          = "e"  // last record of a snapshot: it is complete
)

// mutation is one atomic change of the state: what a journal record holds, in domain
// terms. Values in a mutation are owned by the store (callers' values are copied in).
type mutation struct {
	op        string
	container blob.Container   // opPutContainer; opMovContainer: the record at the target
	key       blob.BlobKey     // blob and block ops; Account+Container for opDelContainer and opMovContainer (the source)
	blob      *blob.BlobRecord // opPutBlob
	drop      bool             // opPutBlob, opDelBlob: drop every staged block too
	block     blob.Block       // opPutBlock
	ids       []string         // opDropBlocks
	gen       uint64           // opSnapshot
	splice    *splice          // opSpliceBlob; blob then holds the new properties
}

// splice turns one extent list into another: del extents from index from are replaced
// by ins. An append or a page write changes a few extents of a blob that may have tens
// of thousands; journaling the change, not the list, keeps each record small.
type splice struct {
	from, del int
	ins       []blob.Extent
}

// diffExtents returns the splice from old to next: what lies between their common
// prefix and their common suffix.
func diffExtents(old, next []blob.Extent) splice {
	p := 0
	for p < len(old) && p < len(next) && old[p] == next[p] {
		p++
	}
	q := 0
	for q < len(old)-p && q < len(next)-p && old[len(old)-1-q] == next[len(next)-1-q] {
		q++
	}
	return splice{from: p, del: len(old) - p - q, ins: next[p : len(next)-q]}
}

// apply returns xs with the splice made, in a new slice.
func (sp splice) apply(xs []blob.Extent) ([]blob.Extent, error) {
	if sp.from < 0 || sp.del < 0 || sp.from+sp.del > len(xs) {
		return nil, fmt.Errorf("splice of extents %d+%d out of %d", sp.from, sp.del, len(xs))
	}
	out := make([]blob.Extent, 0, len(xs)-sp.del+len(sp.ins))
	out = append(out, xs[:sp.from]...)
	out = append(out, sp.ins...)
	return append(out, xs[sp.from+sp.del:]...), nil
}

// The on-disk shapes are private and short-keyed, so that the domain types can evolve
// without changing the file format by accident.
type diskRecord struct {
	Op    string         `json:"op"`
	A     string         `json:"a,omitempty"` // account
	C     string         `json:"c,omitempty"` // container
	N     string         `json:"n,omitempty"` // blob
	Ctr   *diskContainer `json:"ctr,omitempty"`
	ToA   string         `json:"ta,omitempty"` // opMovContainer: the target's account
	ToC   string         `json:"tc,omitempty"` // and name
	Blob  *diskBlob      `json:"blob,omitempty"`
	Drop  bool           `json:"drop,omitempty"`
	Block *diskBlock     `json:"blk,omitempty"`
	IDs   []string       `json:"ids,omitempty"`
	Gen   uint64         `json:"gen,omitempty"`
	Sp    *diskSplice    `json:"sp,omitempty"`
}

type diskSplice struct {
	From int          `json:"f"`
	Del  int          `json:"d"`
	Ins  []diskExtent `json:"i,omitempty"`
}

type diskContainer struct {
	Meta     map[string]string `json:"md,omitempty"`
	ETag     string            `json:"etag"`
	Modified time.Time         `json:"mod"`
	Created  time.Time         `json:"cre"`
	Lease    *diskLease        `json:"ls,omitempty"`
	// ACL is the container's stored access policies.
	ACL []blob.AccessPolicy `json:"acl,omitempty"`
	// Deleted and Retain are a soft-deleted container's DeletedTime and RetainUntil.
	Deleted time.Time `json:"del,omitzero"`
	Retain  time.Time `json:"ret,omitzero"`
}

func encodeContainer(c blob.Container) *diskContainer {
	return &diskContainer{Meta: c.Metadata, ETag: c.ETag, Modified: c.LastModified, Created: c.CreatedAt,
		Lease: encodeLease(c.Lease), ACL: c.AccessPolicies, Deleted: c.DeletedTime, Retain: c.RetainUntil}
}

func decodeContainer(account, name string, d *diskContainer) blob.Container {
	c := blob.Container{Account: account, Name: name, Metadata: d.Meta, ETag: d.ETag,
		LastModified: d.Modified.UTC(), CreatedAt: d.Created.UTC(), Lease: decodeLease(d.Lease),
		AccessPolicies: d.ACL}
	if !d.Deleted.IsZero() {
		c.DeletedTime = d.Deleted.UTC()
	}
	if !d.Retain.IsZero() {
		c.RetainUntil = d.Retain.UTC()
	}
	return c
}

// diskLease is a blob's or container's lease; absent when there is none.
type diskLease struct {
	ID       string    `json:"id,omitempty"`
	Phase    string    `json:"p,omitempty"`
	Duration int       `json:"d,omitempty"`
	Until    time.Time `json:"u,omitzero"`
}

func encodeLease(l blob.Lease) *diskLease {
	if l.IsZero() {
		return nil
	}
	return &diskLease{ID: l.ID, Phase: l.Phase, Duration: l.Duration, Until: l.Until}
}

func decodeLease(d *diskLease) blob.Lease {
	if d == nil {
		return blob.Lease{}
	}
	l := blob.Lease{ID: d.ID, Phase: d.Phase, Duration: d.Duration}
	if !d.Until.IsZero() {
		l.Until = d.Until.UTC()
	}
	return l
}

type diskBlob struct {
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
	Extents     []diskExtent      `json:"x,omitempty"`
	BlobType    string            `json:"bt,omitempty"` // "" for a block blob, as records before other types
	Sealed      bool              `json:"seal,omitempty"`
	Seq         int64             `json:"seq,omitempty"`
	Tags        map[string]string `json:"tg,omitempty"`
	Lease       *diskLease        `json:"ls,omitempty"`
	Tier        *diskTier         `json:"tr,omitempty"`
	// Snaps are the blob's history (snapshots, versions, soft-deleted states, version
	// id, tombstone), as blob.EncodeHistory writes it.
	Snaps json.RawMessage `json:"snaps,omitempty"`
	Copy  *blob.CopyInfo  `json:"cp,omitempty"`
}

type diskExtent struct {
	Block   string `json:"b,omitempty"`
	Content string `json:"c,omitempty"`
	Size    int64  `json:"s"`
	Offset  int64  `json:"o,omitempty"`  // page blobs
	COffset int64  `json:"co,omitempty"` // page blobs
	// Inline is blob.Extent.Inline, as bytes: JSON carries them as base64, where a
	// string would lose what is not UTF-8.
	Inline []byte `json:"in,omitempty"`
}

type diskBlock struct {
	ID      string    `json:"id"`
	Size    int64     `json:"s"`
	Content string    `json:"c,omitempty"`
	Created time.Time `json:"cre"`
}

func encode(m mutation) ([]byte, error) {
	r := diskRecord{Op: m.op, Drop: m.drop, IDs: m.ids, Gen: m.gen}
	switch m.op {
	case opPutContainer:
		c := m.container
		r.A, r.C = c.Account, c.Name
		r.Ctr = encodeContainer(c)
	case opMovContainer:
		r.A, r.C = m.key.Account, m.key.Container
		r.ToA, r.ToC = m.container.Account, m.container.Name
		r.Ctr = encodeContainer(m.container)
	case opDelContainer:
		r.A, r.C = m.key.Account, m.key.Container
	case opPutBlob, opSpliceBlob, opDelBlob, opPutBlock, opDropBlocks:
		r.A, r.C, r.N = m.key.Account, m.key.Container, m.key.Name
	}
	if m.blob != nil {
		b := m.blob
		d := &diskBlob{
			Size: b.Size, Type: b.ContentType, Encoding: b.ContentEncoding, Language: b.ContentLanguage,
			Disposition: b.ContentDisposition, Cache: b.CacheControl, MD5: b.ContentMD5, Meta: b.Metadata,
			ETag: b.ETag, Modified: b.LastModified, Created: b.CreatedAt,
			Sealed: b.Sealed, Seq: b.SequenceNumber, Tags: b.Tags, Lease: encodeLease(b.Lease),
			Tier: encodeTier(b.Tier), Copy: b.Copy,
		}
		if b.BlobType != blob.BlobTypeBlock && b.BlobType != "" {
			d.BlobType = b.BlobType
		}
		snaps, err := blob.EncodeHistory(b)
		if err != nil {
			return nil, err
		}
		d.Snaps = snaps
		if m.splice != nil {
			d.Extents = nil
			r.Sp = &diskSplice{From: m.splice.from, Del: m.splice.del, Ins: diskExtents(m.splice.ins)}
		} else {
			d.Extents = diskExtents(b.Extents)
		}
		r.Blob = d
	}
	if m.op == opPutBlock {
		b := m.block
		r.Block = &diskBlock{ID: b.ID, Size: b.Size, Content: string(b.Content), Created: b.CreatedAt}
	}
	return json.Marshal(r)
}

func diskExtents(xs []blob.Extent) []diskExtent {
	out := make([]diskExtent, len(xs))
	for i, e := range xs {
		out[i] = diskExtent{Block: e.BlockID, Content: string(e.Content), Size: e.Size, Offset: e.Offset, COffset: e.ContentOffset, Inline: []byte(e.Inline)}
	}
	return out
}

func extentsOf(ds []diskExtent) []blob.Extent {
	if len(ds) == 0 {
		return nil
	}
	out := make([]blob.Extent, len(ds))
	for i, e := range ds {
		out[i] = blob.Extent{BlockID: e.Block, Content: blob.ContentID(e.Content), Inline: string(e.Inline), Size: e.Size, Offset: e.Offset, ContentOffset: e.COffset}
	}
	return out
}

func decode(p []byte) (mutation, error) {
	var r diskRecord
	if err := json.Unmarshal(p, &r); err != nil {
		return mutation{}, fmt.Errorf("decoding record: %w", err)
	}
	m := mutation{op: r.Op, drop: r.Drop, ids: r.IDs, gen: r.Gen,
		key: blob.BlobKey{Account: r.A, Container: r.C, Name: r.N}}
	switch r.Op {
	case opPutContainer:
		if r.Ctr == nil {
			return mutation{}, fmt.Errorf("record %s without container", r.Op)
		}
		m.container = decodeContainer(r.A, r.C, r.Ctr)
	case opMovContainer:
		if r.Ctr == nil || r.ToA == "" || r.ToC == "" {
			return mutation{}, fmt.Errorf("record %s without target", r.Op)
		}
		m.container = decodeContainer(r.ToA, r.ToC, r.Ctr)
	case opPutBlob, opSpliceBlob:
		d := r.Blob
		if d == nil {
			return mutation{}, fmt.Errorf("record %s without blob", r.Op)
		}
		b := &blob.BlobRecord{BlobProperties: blob.BlobProperties{
			Container: r.C, Name: r.N, Size: d.Size,
			HTTPHeaders: blob.HTTPHeaders{ContentType: d.Type, ContentEncoding: d.Encoding, ContentLanguage: d.Language,
				ContentDisposition: d.Disposition, CacheControl: d.Cache, ContentMD5: d.MD5},
			Metadata: d.Meta, ETag: d.ETag, LastModified: d.Modified.UTC(), CreatedAt: d.Created.UTC(),
			BlobType: blob.BlobTypeBlock, Sealed: d.Sealed, SequenceNumber: d.Seq, Tags: d.Tags,
			Lease: decodeLease(d.Lease), Tier: decodeTier(d.Tier), Copy: d.Copy,
		}}
		if d.BlobType != "" {
			b.BlobType = d.BlobType
		}
		b.Extents = extentsOf(d.Extents)
		var err error
		if err = blob.DecodeHistory(d.Snaps, b); err != nil {
			return mutation{}, fmt.Errorf("record %s: %w", r.Op, err)
		}
		m.blob = b
		if r.Op == opSpliceBlob {
			if r.Sp == nil {
				return mutation{}, fmt.Errorf("record %s without splice", r.Op)
			}
			m.splice = &splice{from: r.Sp.From, del: r.Sp.Del, ins: extentsOf(r.Sp.Ins)}
		}
	case opPutBlock:
		if r.Block == nil {
			return mutation{}, fmt.Errorf("record %s without block", r.Op)
		}
		m.block = blob.Block{ID: r.Block.ID, Size: r.Block.Size, Content: blob.ContentID(r.Block.Content), CreatedAt: r.Block.Created.UTC()}
	case opDelContainer, opDelBlob, opDropBlocks, opSnapshot, opEnd:
	default:
		return mutation{}, fmt.Errorf("unknown record %q", r.Op)
	}
	return m, nil
}

// frees reports whether m only removes data, and may use the journal's reserve.
func (m mutation) frees() bool {
	switch m.op {
	case opDelContainer, opDelBlob, opDropBlocks:
		return true
	}
	return false
}
