package main

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// versions runs the blob version calls of the unmodified azblob on an account with
// versioning and soft delete on: uploads answering version ids, reads through
// WithVersionID, listing with versions and deleted ones, Delete Blob leaving the
// versions, promoting a version by copying it over the blob, deleting a version (soft)
// and Undelete; it returns the steps that passed.
func versions(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}
	bb := cc.NewBlockBlobClient("versioned.txt")
	up1, err := bb.UploadBuffer(ctx, []byte("version one"), nil)
	if err != nil || up1.VersionID == nil {
		return nil, done.fail("write", "err=%v version=%v", err, up1.VersionID)
	}
	up2, err := bb.UploadBuffer(ctx, []byte("version two"), nil)
	if err != nil || up2.VersionID == nil || *up2.VersionID == *up1.VersionID {
		return nil, done.fail("write", "err=%v version=%v", err, up2.VersionID)
	}
	done["write"] = *up1.VersionID

	v1, err := bb.WithVersionID(*up1.VersionID)
	if err != nil {
		return nil, err
	}
	if body, err := readAll(ctx, v1); err != nil || string(body) != "version one" {
		return nil, done.fail("read", "%q, %v", body, err)
	}
	props, err := v1.GetProperties(ctx, nil)
	if err != nil || props.IsCurrentVersion == nil || *props.IsCurrentVersion || deref(props.VersionID) != *up1.VersionID {
		return nil, done.fail("read", "err=%v current=%v", err, props.IsCurrentVersion)
	}
	done["read"] = "ok"

	listed := func(inc container.ListBlobsInclude) (map[string]bool, error) {
		out := map[string]bool{}
		pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, it := range page.Segment.BlobItems {
				out[deref(it.Name)+"@"+deref(it.VersionID)] = (it.IsCurrentVersion != nil && *it.IsCurrentVersion) || (it.Deleted != nil && *it.Deleted)
			}
		}
		return out, nil
	}
	l, err := listed(container.ListBlobsInclude{Versions: true})
	if err != nil || len(l) != 2 || l["versioned.txt@"+*up1.VersionID] || !l["versioned.txt@"+*up2.VersionID] {
		return nil, done.fail("list", "%v, %v", l, err)
	}
	done["list"] = "ok"

	if _, err := bb.Delete(ctx, nil); err != nil {
		return nil, done.fail("delete", "%v", err)
	}
	if _, err := bb.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, done.fail("delete", "properties after the delete: %v", err)
	}
	if l, err := listed(container.ListBlobsInclude{Versions: true}); err != nil || len(l) != 2 {
		return nil, done.fail("delete", "versions after the delete: %v, %v", l, err)
	}
	done["delete"] = "ok"

	if _, err := bb.StartCopyFromURL(ctx, v1.URL(), nil); err != nil {
		return nil, done.fail("promote", "%v", err)
	}
	if body, err := readAll(ctx, bb); err != nil || string(body) != "version one" {
		return nil, done.fail("promote", "%q, %v", body, err)
	}
	done["promote"] = "ok"

	v2, err := bb.WithVersionID(*up2.VersionID)
	if err != nil {
		return nil, err
	}
	if _, err := v2.Delete(ctx, nil); err != nil {
		return nil, done.fail("undelete", "delete version: %v", err)
	}
	if _, err := v2.GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, done.fail("undelete", "a deleted version: %v", err)
	}
	if l, err := listed(container.ListBlobsInclude{Versions: true, Deleted: true}); err != nil || !l["versioned.txt@"+*up2.VersionID] {
		return nil, done.fail("undelete", "soft-deleted version not listed: %v, %v", l, err)
	}
	if _, err := bb.Undelete(ctx, nil); err != nil {
		return nil, done.fail("undelete", "%v", err)
	}
	if body, err := readAll(ctx, v2); err != nil || string(body) != "version two" {
		return nil, done.fail("undelete", "%q, %v", body, err)
	}
	done["undelete"] = "ok"
	return done, nil
}
