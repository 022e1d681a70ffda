package main

import (
	"cmp"
	"context"
	"crypto/md5"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// pageDiffs runs the page blob calls that involve snapshots and copy sources:
// UploadPagesFromURL and NewGetPageRangesDiffPager, of the blob and of a snapshot, with
// a range, and their errors; it returns the steps that passed.
func pageDiffs(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}
	src := cc.NewBlockBlobClient("src.bin")
	if _, err := src.UploadBuffer(ctx, []byte(strings.Repeat("x", 512)+strings.Repeat("y", 512)), nil); err != nil {
		return nil, err
	}
	pb := cc.NewPageBlobClient("disk.vhd")
	if _, err := pb.Create(ctx, 4096, nil); err != nil {
		return nil, err
	}
	if _, err := pb.UploadPages(ctx, body(strings.Repeat("a", 1024)), blob.HTTPRange{Offset: 0, Count: 1024}, nil); err != nil {
		return nil, err
	}
	snap1, err := pb.CreateSnapshot(ctx, nil)
	if err != nil {
		return nil, err
	}

	// Put Page From URL: the source's second half onto page 4, checked by MD5.
	ys := md5.Sum([]byte(strings.Repeat("y", 512)))
	up, err := pb.UploadPagesFromURL(ctx, src.URL(), 512, 2048, 512, &pageblob.UploadPagesFromURLOptions{
		SourceContentValidation: blob.SourceContentValidationTypeMD5(ys[:])})
	if err != nil || up.ETag == nil || up.BlobSequenceNumber == nil || string(up.ContentMD5) != string(ys[:]) {
		return nil, done.fail("upload pages from URL", "err=%v resp=%+v", err, up)
	}
	_, err = pb.UploadPagesFromURL(ctx, src.URL(), 0, 0, 512, &pageblob.UploadPagesFromURLOptions{
		SourceContentValidation: blob.SourceContentValidationTypeMD5(ys[:])})
	if errorCode(err) != "Md5Mismatch" {
		return nil, done.fail("source md5", "got %v", err)
	}
	_, err = pb.UploadPagesFromURL(ctx, src.URL(), 0, 0, 512, &pageblob.UploadPagesFromURLOptions{
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: to.Ptr(azcore.ETag(`"0x1"`))}})
	if errorCode(err) != "SourceConditionNotMet" {
		return nil, done.fail("source condition", "got %v", err)
	}
	buf := make([]byte, 4096)
	if _, err := pb.DownloadBuffer(ctx, buf, nil); err != nil {
		return nil, err
	}
	if want := strings.Repeat("a", 1024) + strings.Repeat("\x00", 1024) + strings.Repeat("y", 512) + strings.Repeat("\x00", 1536); string(buf) != want {
		return nil, done.fail("pages from URL content", "%q", buf[2040:2056])
	}
	done["from-url"] = "ok"

	if _, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: 0, Count: 512}, nil); err != nil {
		return nil, err
	}
	got, err := diff(ctx, pb, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: snap1.Snapshot})
	if want := "clear 0-511,page 2048-2559"; err != nil || got != want {
		return nil, done.fail("diff", "%q, %v; want %q", got, err, want)
	}
	got, err = diff(ctx, pb, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: snap1.Snapshot, Range: blob.HTTPRange{Offset: 256, Count: 768}})
	if want := "clear 256-511"; err != nil || got != want {
		return nil, done.fail("diff in a range", "%q, %v; want %q", got, err, want)
	}
	done["diff"] = "ok"

	snap2, err := pb.CreateSnapshot(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := pb.UploadPages(ctx, body(strings.Repeat("c", 512)), blob.HTTPRange{Offset: 3584, Count: 512}, nil); err != nil {
		return nil, err
	}
	old, err := pb.WithSnapshot(*snap2.Snapshot)
	if err != nil {
		return nil, err
	}
	got, err = diff(ctx, old, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: snap1.Snapshot})
	if want := "clear 0-511,page 2048-2559"; err != nil || got != want {
		return nil, done.fail("diff of a snapshot", "%q, %v; want %q", got, err, want)
	}
	got, err = diff(ctx, pb, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: snap2.Snapshot})
	if want := "page 3584-4095"; err != nil || got != want {
		return nil, done.fail("diff against the second snapshot", "%q, %v; want %q", got, err, want)
	}
	done["snapshot-diff"] = "ok"

	_, err = diff(ctx, pb, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: to.Ptr("2001-01-01T00:00:00.0000000Z")})
	if errorCode(err) != "PreviousSnapshotNotFound" {
		return nil, done.fail("unknown previous snapshot", "got %v", err)
	}
	first, err := pb.WithSnapshot(*snap1.Snapshot)
	if err != nil {
		return nil, err
	}
	_, err = diff(ctx, first, &pageblob.GetPageRangesDiffOptions{PrevSnapshot: snap2.Snapshot})
	if errorCode(err) != "PreviousSnapshotCannotBeNewer" {
		return nil, done.fail("newer previous snapshot", "got %v", err)
	}
	done["diff-errors"] = "ok"
	return done, nil
}

// diff lists a page range diff as "page a-b" and "clear a-b", in offset order.
func diff(ctx context.Context, pb *pageblob.Client, o *pageblob.GetPageRangesDiffOptions) (string, error) {
	type span struct {
		start int64
		s     string
	}
	var out []span
	pager := pb.NewGetPageRangesDiffPager(o)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, r := range page.PageRange {
			out = append(out, span{*r.Start, fmt.Sprintf("page %d-%d", *r.Start, *r.End)})
		}
		for _, r := range page.ClearRange {
			out = append(out, span{*r.Start, fmt.Sprintf("clear %d-%d", *r.Start, *r.End)})
		}
	}
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	parts := make([]string, len(out))
	for i, sp := range out {
		parts[i] = sp.s
	}
	return strings.Join(parts, ","), nil
}
