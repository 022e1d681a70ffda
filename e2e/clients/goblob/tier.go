package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// tiers runs the access tier calls of the unmodified azblob against blobs of cont:
// uploads with a tier, SetTier, Archive and its rehydration (waiting for the server's
// rehydrate delay), and the tier properties of GetProperties and of the listing.
func tiers(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}
	done := steps{}
	// Put Blob with a tier; a blob uploaded without one reads as Hot, inferred.
	if _, err := client.UploadBuffer(ctx, cont, "cool.txt", []byte("cool"), &azblob.UploadBufferOptions{AccessTier: to.Ptr(blob.AccessTierCool)}); err != nil {
		return nil, done.fail("upload cool", "%v", err)
	}
	p, err := cc.NewBlobClient("cool.txt").GetProperties(ctx, nil)
	if err != nil || deref(p.AccessTier) != "Cool" || p.AccessTierInferred != nil && *p.AccessTierInferred || p.AccessTierChangeTime == nil {
		return nil, done.fail("properties cool", "err=%v tier=%v inferred=%v", err, p.AccessTier, p.AccessTierInferred)
	}
	done["upload with tier"] = "ok"
	// Put Block List with a tier.
	bb := cc.NewBlockBlobClient("cold.txt")
	id := base64.StdEncoding.EncodeToString([]byte("block-0"))
	if _, err := bb.StageBlock(ctx, id, body("cold"), nil); err != nil {
		return nil, done.fail("stage", "%v", err)
	}
	if _, err := bb.CommitBlockList(ctx, []string{id}, &blockblob.CommitBlockListOptions{Tier: to.Ptr(blob.AccessTierCold)}); err != nil {
		return nil, done.fail("commit cold", "%v", err)
	}
	if p, err := bb.GetProperties(ctx, nil); err != nil || deref(p.AccessTier) != "Cold" {
		return nil, done.fail("properties cold", "err=%v tier=%v", err, p.AccessTier)
	}
	done["commit with tier"] = "ok"

	hot := cc.NewBlobClient("hot.txt")
	up, err := client.UploadBuffer(ctx, cont, "hot.txt", []byte("hot"), nil)
	if err != nil {
		return nil, err
	}
	p, err = hot.GetProperties(ctx, nil)
	if err != nil || deref(p.AccessTier) != "Hot" || p.AccessTierInferred == nil || !*p.AccessTierInferred {
		return nil, done.fail("properties inferred", "err=%v tier=%v inferred=%v", err, p.AccessTier, p.AccessTierInferred)
	}
	// SetTier keeps ETag and Last-Modified.
	if _, err := hot.SetTier(ctx, blob.AccessTierArchive, nil); err != nil {
		return nil, done.fail("archive", "%v", err)
	}
	p, err = hot.GetProperties(ctx, nil)
	if err != nil || deref(p.AccessTier) != "Archive" || *p.ETag != *up.ETag || !p.LastModified.Equal(*up.LastModified) {
		return nil, done.fail("properties archived", "err=%v tier=%v etag %v -> %v", err, p.AccessTier, up.ETag, p.ETag)
	}
	if err := wantCode("download archived", ignore(hot.DownloadStream(ctx, nil)), bloberror.BlobArchived); err != nil {
		return nil, err
	}
	if err := wantCode("metadata archived", ignore(hot.SetMetadata(ctx, map[string]*string{"a": to.Ptr("b")}, nil)), bloberror.BlobArchived); err != nil {
		return nil, err
	}
	done["archive"] = "ok"
	// Rehydrate: pending, then Hot after the server's delay.
	if _, err := hot.SetTier(ctx, blob.AccessTierHot, &blob.SetTierOptions{RehydratePriority: to.Ptr(blob.RehydratePriorityHigh)}); err != nil {
		return nil, done.fail("rehydrate", "%v", err)
	}
	p, err = hot.GetProperties(ctx, nil)
	if err != nil || deref(p.ArchiveStatus) != "rehydrate-pending-to-hot" || deref(p.RehydratePriority) != "High" || deref(p.AccessTier) != "Archive" {
		return nil, done.fail("properties rehydrating", "err=%v status=%v prio=%v", err, p.ArchiveStatus, p.RehydratePriority)
	}
	if err := wantCode("archive while rehydrating", ignore(hot.SetTier(ctx, blob.AccessTierArchive, nil)), bloberror.BlobBeingRehydrated); err != nil {
		return nil, err
	}
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr("hot")})
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 {
		return nil, done.fail("list rehydrating", "err=%v", err)
	}
	if it := page.Segment.BlobItems[0].Properties; it.ArchiveStatus == nil || *it.ArchiveStatus != blob.ArchiveStatusRehydratePendingToHot ||
		it.RehydratePriority == nil || *it.RehydratePriority != blob.RehydratePriorityHigh || *it.AccessTier != blob.AccessTierArchive {
		return nil, done.fail("list rehydrating", "properties %+v", it)
	}
	done["rehydrating"] = "ok"
	for {
		p, err = hot.GetProperties(ctx, nil)
		if err != nil {
			return nil, err
		}
		if deref(p.AccessTier) == "Hot" {
			break
		}
		select {
		case <-ctx.Done():
			return nil, done.fail("rehydrated", "still %v %v", deref(p.AccessTier), deref(p.ArchiveStatus))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if p.ArchiveStatus != nil || p.AccessTierInferred != nil && *p.AccessTierInferred {
		return nil, done.fail("rehydrated", "status=%v inferred=%v", p.ArchiveStatus, p.AccessTierInferred)
	}
	if got := download(ctx, client, cont, "hot.txt"); got != "hot" {
		return nil, done.fail("download rehydrated", "%q", got)
	}
	done["rehydrated"] = "ok"
	if err := copyTiers(ctx, cc); err != nil {
		return nil, done.fail("copy with tier", "%v", err)
	}
	done["copy with tier"] = "ok"
	return map[string]any{"ok": true, "steps": done}, nil
}

// copyTiers copies with a tier (StartCopyFromURL's Tier), and an archived blob to an
// online tier, which the copy then rehydrates to; without a tier that copy is refused.
func copyTiers(ctx context.Context, cc *container.Client) error {
	src := cc.NewBlobClient("cool.txt")
	cold := cc.NewBlobClient("copy-cold.txt")
	if _, err := cold.StartCopyFromURL(ctx, src.URL(), &blob.StartCopyFromURLOptions{Tier: to.Ptr(blob.AccessTierCold)}); err != nil {
		return err
	}
	if p, err := cold.GetProperties(ctx, nil); err != nil || deref(p.AccessTier) != "Cold" {
		return fmt.Errorf("copy with Cold: err=%w tier=%v", err, deref(p.AccessTier))
	}
	if _, err := src.SetTier(ctx, blob.AccessTierArchive, nil); err != nil {
		return err
	}
	back := cc.NewBlobClient("copy-rehydrated.txt")
	if _, err := back.StartCopyFromURL(ctx, src.URL(), nil); errorCode(err) != "BlobArchived" {
		return fmt.Errorf("copy of an archived blob without a tier: %w", err)
	}
	if _, err := back.StartCopyFromURL(ctx, src.URL(), &blob.StartCopyFromURLOptions{Tier: to.Ptr(blob.AccessTierHot)}); err != nil {
		return err
	}
	if p, err := back.GetProperties(ctx, nil); err != nil || deref(p.AccessTier) != "Archive" || deref(p.ArchiveStatus) != "rehydrate-pending-to-hot" {
		return fmt.Errorf("rehydrating copy: err=%w tier=%v status=%v", err, deref(p.AccessTier), deref(p.ArchiveStatus))
	}
	return nil
}

func deref[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
