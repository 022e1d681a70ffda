package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// errorCode is the Azure error code of err, "" when it is not a service error.
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func body(s string) io.ReadSeekCloser { return streaming.NopCloser(strings.NewReader(s)) }

// appendMany appends count blocks "<prefix.i>" to an existing append blob: one of the
// processes of the concurrent-appenders test.
func appendMany(ctx context.Context, client *azblob.Client, cont, name, prefix string, count int) (any, error) {
	ab := client.ServiceClient().NewContainerClient(cont).NewAppendBlobClient(name)
	offsets := []string{}
	for i := range count {
		res, err := ab.AppendBlock(ctx, body(fmt.Sprintf("<%s.%d>", prefix, i)), nil)
		if err != nil {
			return nil, err
		}
		offsets = append(offsets, *res.BlobAppendOffset)
	}
	return map[string]any{"ok": true, "offsets": offsets}, nil
}

// appendPage runs the SDK's append and page blob calls, checking what Azure answers.
func appendPage(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}

	// Append blobs.
	ab := cc.NewAppendBlobClient("log.txt")
	if _, err := ab.Create(ctx, &appendblob.CreateOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
		Metadata: map[string]*string{"kind": to.Ptr("log")}}); err != nil {
		return nil, err
	}
	r1, err := ab.AppendBlock(ctx, body("first "), nil)
	if err != nil {
		return nil, err
	}
	r2, err := ab.AppendBlock(ctx, body("second"), &appendblob.AppendBlockOptions{
		TransactionalValidation:        blob.TransferValidationTypeComputeCRC64(),
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](6), MaxSize: to.Ptr[int64](12)},
	})
	if err != nil {
		return nil, err
	}
	if *r1.BlobAppendOffset != "0" || *r2.BlobAppendOffset != "6" || *r2.BlobCommittedBlockCount != 2 || r2.ETag == nil || r2.ContentCRC64 == nil {
		return nil, done.fail("append", "offsets %s %s count %d", *r1.BlobAppendOffset, *r2.BlobAppendOffset, *r2.BlobCommittedBlockCount)
	}
	_, err = ab.AppendBlock(ctx, body("x"), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](3)}})
	if errorCode(err) != "AppendPositionConditionNotMet" {
		return nil, done.fail("appendpos", "got %v", err)
	}
	_, err = ab.AppendBlock(ctx, body("x"), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: to.Ptr[int64](12)}})
	if errorCode(err) != "MaxBlobSizeConditionNotMet" {
		return nil, done.fail("maxsize", "got %v", err)
	}
	_, err = ab.AppendBlock(ctx, body(strings.Repeat("x", 4<<20+1)), nil)
	if errorCode(err) != "RequestBodyTooLarge" {
		return nil, done.fail("too large", "got %v", err)
	}
	props, err := ab.GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if *props.BlobType != blob.BlobTypeAppendBlob || *props.BlobCommittedBlockCount != 2 || *props.ContentLength != 12 || *props.ContentType != "text/plain" {
		return nil, done.fail("append properties", "%+v", props)
	}
	if got := download(ctx, client, cont, "log.txt"); got != "first second" {
		return nil, done.fail("append download", "%q", got)
	}
	done["append"] = "ok"

	if _, err := ab.Seal(ctx, &appendblob.SealOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](12)}}); err != nil {
		return nil, err
	}
	if _, err := ab.AppendBlock(ctx, body("x"), nil); errorCode(err) != "BlobIsSealed" {
		return nil, done.fail("append to sealed", "got %v", err)
	}
	if props, err := ab.GetProperties(ctx, nil); err != nil || props.IsSealed == nil || !*props.IsSealed {
		return nil, done.fail("sealed properties", "%v %+v", err, props)
	}
	done["seal"] = "ok"

	// Wrong types.
	if _, err := client.UploadBuffer(ctx, cont, "block.txt", []byte("b"), nil); err != nil {
		return nil, err
	}
	if _, err := cc.NewAppendBlobClient("block.txt").AppendBlock(ctx, body("x"), nil); errorCode(err) != "InvalidBlobType" {
		return nil, done.fail("append to a block blob", "got %v", err)
	}
	if _, err := cc.NewBlockBlobClient("log.txt").StageBlock(ctx, "QUFB", body("x"), nil); errorCode(err) != "InvalidBlobType" {
		return nil, done.fail("stage on an append blob", "got %v", err)
	}
	if _, err := cc.NewPageBlobClient("block.txt").UploadPages(ctx, body(strings.Repeat("p", 512)), blob.HTTPRange{Offset: 0, Count: 512}, nil); errorCode(err) != "InvalidBlobType" {
		return nil, done.fail("put page on a block blob", "got %v", err)
	}
	done["types"] = "ok"

	// Page blobs.
	pb := cc.NewPageBlobClient("disk.vhd")
	if _, err := pb.Create(ctx, 1000, nil); errorCode(err) != "InvalidHeaderValue" {
		return nil, done.fail("unaligned size", "got %v", err)
	}
	if _, err := pb.Create(ctx, 1<<40, &pageblob.CreateOptions{SequenceNumber: to.Ptr[int64](5)}); err != nil {
		return nil, err
	}
	pageA := strings.Repeat("a", 1024)
	up, err := pb.UploadPages(ctx, body(pageA), blob.HTTPRange{Offset: 512, Count: 1024}, &pageblob.UploadPagesOptions{
		TransactionalValidation: blob.TransferValidationTypeComputeCRC64()})
	if err != nil {
		return nil, err
	}
	if *up.BlobSequenceNumber != 5 || up.ContentCRC64 == nil {
		return nil, done.fail("upload pages", "%+v", up)
	}
	if _, err := pb.UploadPages(ctx, body(strings.Repeat("b", 512)), blob.HTTPRange{Offset: 1 << 39, Count: 512}, nil); err != nil {
		return nil, err
	}
	if _, err := pb.UploadPages(ctx, body(strings.Repeat("c", 512)), blob.HTTPRange{Offset: 1, Count: 512}, nil); errorCode(err) != "InvalidPageRange" {
		return nil, done.fail("unaligned pages", "got %v", err)
	}
	_, err = pb.UploadPages(ctx, body(strings.Repeat("c", 512)), blob.HTTPRange{Offset: 0, Count: 512}, &pageblob.UploadPagesOptions{
		SequenceNumberAccessConditions: &pageblob.SequenceNumberAccessConditions{IfSequenceNumberLessThan: to.Ptr[int64](5)}})
	if errorCode(err) != "SequenceNumberConditionNotMet" {
		return nil, done.fail("sequence condition", "got %v", err)
	}
	buf := make([]byte, 2048)
	if _, err := pb.DownloadBuffer(ctx, buf, &blob.DownloadBufferOptions{Range: blob.HTTPRange{Offset: 0, Count: 2048}}); err != nil {
		return nil, err
	}
	if want := strings.Repeat("\x00", 512) + pageA + strings.Repeat("\x00", 512); string(buf) != want {
		return nil, done.fail("page download", "%q", buf[:16])
	}
	if _, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: 512, Count: 512}, nil); err != nil {
		return nil, err
	}
	var ranges []string
	pager := pb.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.PageRange {
			ranges = append(ranges, strconv.FormatInt(*r.Start, 10)+"-"+strconv.FormatInt(*r.End, 10))
		}
	}
	if got := strings.Join(ranges, ","); got != fmt.Sprintf("1024-1535,%d-%d", int64(1)<<39, int64(1)<<39+511) {
		return nil, done.fail("page ranges", "%s", got)
	}
	done["pages"] = "ok"

	if _, err := pb.Resize(ctx, 2048, nil); err != nil {
		return nil, err
	}
	seq, err := pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeIncrement)})
	if err != nil || *seq.BlobSequenceNumber != 6 {
		return nil, done.fail("increment", "%v %+v", err, seq)
	}
	seq, err = pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeMax), SequenceNumber: to.Ptr[int64](3)})
	if err != nil || *seq.BlobSequenceNumber != 6 {
		return nil, done.fail("max", "%v %+v", err, seq)
	}
	if _, err := pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeUpdate), SequenceNumber: to.Ptr[int64](42)}); err != nil {
		return nil, err
	}
	pp, err := pb.GetProperties(ctx, nil)
	if err != nil || *pp.BlobType != blob.BlobTypePageBlob || *pp.ContentLength != 2048 || *pp.BlobSequenceNumber != 42 {
		return nil, done.fail("page properties", "%v %+v", err, pp)
	}
	done["resize"] = "ok"

	// Listings name every type.
	types := map[string]string{}
	lp := cc.NewListBlobsFlatPager(nil)
	for lp.More() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, b := range page.Segment.BlobItems {
			types[*b.Name] = string(*b.Properties.BlobType)
		}
	}
	if types["log.txt"] != "AppendBlob" || types["disk.vhd"] != "PageBlob" || types["block.txt"] != "BlockBlob" {
		return nil, done.fail("listing", "%v", types)
	}
	done["listing"] = "ok"
	return done, nil
}

func download(ctx context.Context, client *azblob.Client, cont, name string) string {
	resp, err := client.DownloadStream(ctx, cont, name, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return "error: " + err.Error()
	}
	return b.String()
}
