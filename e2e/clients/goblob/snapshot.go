package main

import (
	"context"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// snapshots runs the snapshot calls of the unmodified azblob: CreateSnapshot, reads
// through WithSnapshot, listing with snapshots, and the deletions; it returns the steps
// that passed.
func snapshots(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}
	bb := cc.NewBlockBlobClient("snap.txt")
	if _, err := bb.UploadBuffer(ctx, []byte("version one"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"v": to.Ptr("1")},
		Tags: map[string]string{"stage": "raw"}}); err != nil {
		return nil, err
	}
	snap, err := bb.CreateSnapshot(ctx, nil)
	if err != nil || snap.Snapshot == nil || snap.ETag == nil || snap.LastModified == nil {
		return nil, done.fail("create", "err=%v resp=%+v", err, snap)
	}
	id := *snap.Snapshot
	done["create"] = id
	if _, err := bb.UploadBuffer(ctx, []byte("version two"), nil); err != nil {
		return nil, err
	}

	old, err := bb.WithSnapshot(id)
	if err != nil {
		return nil, err
	}
	dl, err := old.DownloadStream(ctx, nil)
	if err != nil {
		return nil, done.fail("download", "%v", err)
	}
	body, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || string(body) != "version one" {
		return nil, done.fail("download", "%q, %v", body, err)
	}
	props, err := old.GetProperties(ctx, nil)
	if err != nil || props.Metadata["V"] == nil && props.Metadata["v"] == nil {
		return nil, done.fail("properties", "err=%v metadata=%v", err, props.Metadata)
	}
	done["read"] = "ok"

	// The snapshot keeps the tags the blob had; setting its own changes neither the blob's
	// nor its ETag.
	if _, err := bb.SetTags(ctx, map[string]string{"stage": "done"}, nil); err != nil {
		return nil, err
	}
	tags, err := old.GetTags(ctx, nil)
	if err != nil || len(tags.BlobTagSet) != 1 || *tags.BlobTagSet[0].Key != "stage" || *tags.BlobTagSet[0].Value != "raw" {
		return nil, done.fail("snapshot tags", "err=%v tags=%+v", err, tags.BlobTagSet)
	}
	if props.TagCount == nil || *props.TagCount != 1 {
		return nil, done.fail("snapshot tag count", "%v", props.TagCount)
	}
	if _, err := old.SetTags(ctx, map[string]string{"stage": "x"}, nil); err != nil {
		return nil, done.fail("set snapshot tags", "%v", err)
	}
	tags, err = old.GetTags(ctx, nil)
	if err != nil || len(tags.BlobTagSet) != 1 || *tags.BlobTagSet[0].Value != "x" {
		return nil, done.fail("snapshot tags after set", "err=%v tags=%+v", err, tags.BlobTagSet)
	}
	if again, err := old.GetProperties(ctx, nil); err != nil || *again.ETag != *props.ETag {
		return nil, done.fail("snapshot etag after set tags", "err=%v", err)
	}
	if tags, err = bb.GetTags(ctx, nil); err != nil || len(tags.BlobTagSet) != 1 || *tags.BlobTagSet[0].Value != "done" {
		return nil, done.fail("blob tags after snapshot tags", "err=%v tags=%+v", err, tags.BlobTagSet)
	}
	done["tags"] = "ok"

	missing, _ := bb.WithSnapshot("2000-01-01T00:00:00.0000000Z")
	if err := wantCode("missing snapshot", ignore(missing.GetProperties(ctx, nil)), bloberror.BlobNotFound); err != nil {
		return nil, err
	}
	if err := wantCode("delete with snapshots", ignore(bb.Delete(ctx, nil)), bloberror.SnapshotsPresent); err != nil {
		return nil, err
	}
	done["errors"] = "ok"

	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	var listed []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, done.fail("list", "%v", err)
		}
		for _, it := range page.Segment.BlobItems {
			s := *it.Name
			if it.Snapshot != nil {
				s += "@" + *it.Snapshot
			}
			listed = append(listed, s)
		}
	}
	if len(listed) != 2 || listed[0] != "snap.txt@"+id || listed[1] != "snap.txt" {
		return nil, done.fail("list", "%v", listed)
	}
	done["list"] = "ok"

	if _, err := old.Delete(ctx, nil); err != nil {
		return nil, done.fail("delete snapshot", "%v", err)
	}
	if err := wantCode("deleted snapshot", ignore(old.GetProperties(ctx, nil)), bloberror.BlobNotFound); err != nil {
		return nil, err
	}
	if _, err := bb.CreateSnapshot(ctx, nil); err != nil {
		return nil, err
	}
	if _, err := bb.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}); err != nil {
		return nil, done.fail("delete include", "%v", err)
	}
	if err := wantCode("deleted blob", ignore(bb.GetProperties(ctx, nil)), bloberror.BlobNotFound); err != nil {
		return nil, err
	}
	done["delete"] = "ok"
	return done, nil
}
