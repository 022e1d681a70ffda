package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"strconv"

	"github.com/lanyard-id/lanyard/internal/lanyard"
)

// Codes of a copy's source: its x-ms-source-if-* conditions fail (412); it cannot be
// read, here because it does not exist (404).
const (
	CodeSourceConditionNotMet  = "SourceConditionNotMet"
	CodeCannotVerifyCopySource = "CannotVerifyCopySource"
)

// CopyBlobInput is a copy of one blob of this service onto another (Copy Blob, Copy
// Blob From URL, Put Blob From URL).
type CopyBlobInput struct {
	Source, Dest BlobKey
	// SourceAt names a snapshot or version of the source to copy; At{} the source.
	SourceAt At
	// SourceConditions are the x-ms-source-if-* headers (and x-ms-source-lease-id).
	SourceConditions Conditions
	// Conditions are the destination's (If-*, x-ms-if-tags, x-ms-lease-id).
	Conditions Conditions
	// Metadata replaces the source's when not nil.
	Metadata Metadata
	// Tags replace the source's when not nil; KeepTags copies the source's otherwise.
	Tags     Tags
	KeepTags bool
	// Headers replace the source's HTTP headers when not nil (Put Blob From URL).
	Headers *HTTPHeaders
	// BlockBlob makes the destination a block blob of the source's bytes, as the
	// synchronous copies do; it is refused for a source of another type.
	BlockBlob bool
	// MaxSize bounds the source's size; 0 for no bound.
	MaxSize int64
	// SourceContentMD5, when set, is the MD5 the copied bytes must have
	// (x-ms-source-content-md5); only for BlockBlob copies, whose extents are all bytes.
	SourceContentMD5 []byte
	// Copy is recorded on the destination; nil records nothing (Put Blob From URL).
	Copy *CopyInfo
	// Tier is the destination's access tier (canonical, "" for the default); a block
	// blob's only. An archived source may be copied only to an online tier: the copy
	// is then archived, rehydrating to Tier with RehydratePriority, as Azure's
	// rehydration by copy.
	Tier, RehydratePriority string
}

// CopyBlob copies a committed blob: its bytes (through new content files, since a
// content file belongs to one blob and is freed with it; bytes inline in the record are
// copied with it), type, properties and, unless given, metadata and tags. The
// destination replaces what was there, keeping its lease.
func (s *Service) CopyBlob(ctx context.Context, in CopyBlobInput) (BlobProperties, error) {
	if err := s.validateKey(in.Source); err != nil {
		return BlobProperties{}, lanyard.Errorf(lanyard.KindNotFound, "The specified blob does not exist.").WithCode(CodeCannotVerifyCopySource)
	}
	if err := s.validateKey(in.Dest); err != nil {
		return BlobProperties{}, err
	}
	md, err := ValidateMetadata(in.Metadata)
	if err != nil {
		return BlobProperties{}, err
	}
	epoch := s.reclaim.enter()
	defer s.reclaim.leave(epoch)
	src, err := s.readRecord(ctx, in.Source, in.SourceAt)
	if err != nil {
		if lanyard.KindOf(err) == lanyard.KindNotFound {
			return BlobProperties{}, lanyard.Errorf(lanyard.KindNotFound, "The specified blob does not exist.").WithCode(CodeCannotVerifyCopySource)
		}
		return BlobProperties{}, err
	}
	if err := in.SourceConditions.checkReadBlob(&src, s.now()); err != nil {
		if CodeOf(err) == CodeConditionNotMet {
			return BlobProperties{}, errPrecondition(CodeSourceConditionNotMet,
				"The source condition specified using HTTP conditional header(s) is not met.")
		}
		return BlobProperties{}, err
	}
	archived := src.Tier.Settled(s.now()).Archived()
	switch {
	case in.Tier != "" && src.BlobType != BlobTypeBlock:
		return BlobProperties{}, errInvalid(CodeInvalidHeaderValue,
			"The value for one of the HTTP headers is not in the correct format. Header: x-ms-access-tier, which only a block blob takes.")
	case archived && (in.Tier == "" || in.Tier == TierArchive || in.BlockBlob):
		// Only Copy Blob rehydrates (a synchronous copy has no time to).
		return BlobProperties{}, errBlobArchived()
	case in.BlockBlob && src.BlobType != BlobTypeBlock:
		// Azure's answer to a synchronous copy of a page or append blob.
		return BlobProperties{}, lanyardConflict(CodeCannotVerifyCopySource, "The copy source must be a block blob.")
	case in.MaxSize > 0 && src.Size > in.MaxSize:
		return BlobProperties{}, errTooLarge(CodeRequestBodyTooLarge,
			"The source blob is larger than the %d bytes a synchronous copy may copy.", in.MaxSize)
	}
	if err := s.precheck(ctx, in.Dest, in.Conditions, true); err != nil {
		return BlobProperties{}, err
	}
	sum := md5.New()
	extents, err := s.copyExtents(ctx, src.Extents, sum)
	if err != nil {
		return BlobProperties{}, err
	}
	if len(in.SourceContentMD5) > 0 && !bytes.Equal(sum.Sum(nil), in.SourceContentMD5) {
		for _, x := range extents {
			s.discard(x.Content, ErrUnchanged)
		}
		return BlobProperties{}, errInvalid(CodeMd5Mismatch, "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
	}
	var next *BlobRecord
	res, err := s.writeBlob(ctx, in.Dest, false, changeContent, func(st BlobState) (BlobWrite, error) {
		cur := st.Blob
		if err := in.Conditions.checkCreateBlob(cur, s.now()); err != nil {
			return BlobWrite{}, err
		}
		// Azure: a destination that exists must be of the source's type.
		if cur != nil && cur.BlobType != src.BlobType {
			return BlobWrite{}, errInvalidBlobType()
		}
		now := s.timestamp()
		p := src.BlobProperties
		p.Container, p.Name = in.Dest.Container, in.Dest.Name
		p.ETag, p.LastModified, p.CreatedAt = newETag(now), now, createdAt(cur, now)
		// The copy is a new blob in the tier asked for (the default when none); the
		// destination's snapshots stay.
		p.Lease, p.Sealed, p.CommittedBlockCount, p.Tier = leaseOf(cur), false, 0, uploadTier(in.Tier, now)
		if archived {
			prio := in.RehydratePriority
			if prio == "" {
				prio = RehydrateStandard
			}
			p.Tier = AccessTier{Tier: TierArchive, ChangedAt: now, RehydrateTo: in.Tier, RehydratePriority: prio, RehydrateAt: now.Add(s.rehydrateDelay)}
		}
		if in.Metadata != nil {
			p.Metadata = md
		}
		switch {
		case in.Tags != nil:
			p.Tags = in.Tags.Clone()
		case !in.KeepTags:
			p.Tags = nil
		}
		if in.Headers != nil {
			p.HTTPHeaders = *in.Headers
			if len(p.ContentMD5) == 0 {
				p.ContentMD5 = src.ContentMD5
			}
		}
		p.Copy = nil
		if in.Copy != nil {
			c := *in.Copy
			c.Status, c.Progress, c.CompletionTime = CopyStatusSuccess, progressOf(src.Size), now
			p.Copy = &c
		}
		next = &BlobRecord{BlobProperties: p, Extents: extents}
		return BlobWrite{Blob: next, DropBlocks: true}, nil
	})
	if err != nil {
		for _, x := range extents {
			s.discard(x.Content, err)
		}
		return BlobProperties{}, err
	}
	s.release(res, next)
	return next.properties(), nil
}

func progressOf(size int64) string {
	n := strconv.FormatInt(size, 10)
	return n + "/" + n
}

// copyExtents writes each extent's bytes into a new content file (inline bytes stay
// inline) and returns the extents that reference them, in the same layout (block ids,
// page offsets). On error the files written so far are removed.
func (s *Service) copyExtents(ctx context.Context, xs []Extent, sum io.Writer) (out []Extent, err error) {
	out = make([]Extent, 0, len(xs))
	defer func() {
		if err != nil {
			// No record references them yet: removing them is always safe.
			for _, x := range out {
				s.discard(x.Content, ErrUnchanged)
			}
			out = nil
		}
	}()
	for _, x := range xs {
		n := x
		n.ContentOffset = 0
		if x.Inline != "" {
			// Bytes in the record are copied with it: a string is never modified, so
			// the two records may share it.
			n.Inline = x.Inline[x.ContentOffset : x.ContentOffset+x.Size]
			if _, err := io.WriteString(sum, n.Inline); err != nil {
				return out, fmt.Errorf("blob: copy: %w", err)
			}
		}
		if x.Content != "" && x.Size > 0 {
			f, err := s.content.Open(ctx, x.Content)
			if err != nil {
				return out, fmt.Errorf("blob: copy: open content: %w", err)
			}
			w, err := s.writeContent(ctx, io.TeeReader(io.NewSectionReader(f, x.ContentOffset, x.Size), sum), x.Size, nil, nil)
			_ = f.Close()
			if err != nil {
				return out, err
			}
			n.Content = w.id
		}
		out = append(out, n)
	}
	return out, nil
}
