package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// wantCode fails unless err is the service error code.
func wantCode(step string, err error, code bloberror.Code) error {
	if !bloberror.HasCode(err, code) {
		return fmt.Errorf("%s: want %s, got: %w", step, code, err)
	}
	return nil
}

// leases runs the lease calls of the unmodified azblob lease package against a blob and
// a container, and the calls the compatibility fixes touch; it returns the steps
// that passed.
func leases(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	cc := client.ServiceClient().NewContainerClient(cont)
	if _, err := cc.Create(ctx, nil); err != nil {
		return nil, err
	}
	bb := cc.NewBlockBlobClient("leased.txt")
	if _, err := bb.UploadBuffer(ctx, []byte("v1"), nil); err != nil {
		return nil, err
	}

	// Blob lease: acquire with a proposed id, then every write needs it.
	idA, idB := "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	bl, err := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: to.Ptr(idA)})
	if err != nil {
		return nil, err
	}
	acq, err := bl.AcquireLease(ctx, 15, nil)
	if err != nil {
		return nil, done.fail("acquire", "%v", err)
	}
	if acq.LeaseID == nil || !strings.EqualFold(*acq.LeaseID, idA) {
		return nil, done.fail("acquire", "lease id %v", acq.LeaseID)
	}
	props, err := bb.GetProperties(ctx, nil)
	if err != nil || props.LeaseState == nil || *props.LeaseState != lease.StateTypeLeased ||
		*props.LeaseStatus != lease.StatusTypeLocked || *props.LeaseDuration != lease.DurationTypeFixed {
		return nil, done.fail("properties", "err=%v state=%v", err, props.LeaseState)
	}
	other, _ := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: to.Ptr(idB)})
	if err := wantCode("second acquire", ignore(other.AcquireLease(ctx, 15, nil)), bloberror.LeaseAlreadyPresent); err != nil {
		return nil, err
	}
	if err := wantCode("upload without the lease", ignore(bb.UploadBuffer(ctx, []byte("v2"), nil)), bloberror.LeaseIDMissing); err != nil {
		return nil, err
	}
	if err := wantCode("delete with another lease", ignore(bb.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
		LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr(idB)}}})), bloberror.LeaseIDMismatchWithBlobOperation); err != nil {
		return nil, err
	}
	withA := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr(idA)}}
	if _, err := bb.UploadBuffer(ctx, []byte("v2"), &blockblob.UploadBufferOptions{AccessConditions: withA}); err != nil {
		return nil, done.fail("upload with the lease", "%v", err)
	}
	if _, err := bb.SetMetadata(ctx, map[string]*string{"k": to.Ptr("v")}, &blob.SetMetadataOptions{AccessConditions: withA}); err != nil {
		return nil, done.fail("metadata with the lease", "%v", err)
	}
	done["blob-acquire"] = "ok"

	if _, err := bl.RenewLease(ctx, nil); err != nil {
		return nil, done.fail("renew", "%v", err)
	}
	if _, err := bl.ChangeLease(ctx, idB, nil); err != nil || !strings.EqualFold(*bl.LeaseID(), idB) {
		return nil, done.fail("change", "err=%v id=%v", err, bl.LeaseID())
	}
	brk, err := bl.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr(int32(0))})
	if err != nil || brk.LeaseTime == nil || *brk.LeaseTime != 0 {
		return nil, done.fail("break", "err=%v time=%v", err, brk.LeaseTime)
	}
	if err := wantCode("renew a broken lease", ignore(bl.RenewLease(ctx, nil)), bloberror.LeaseIsBrokenAndCannotBeRenewed); err != nil {
		return nil, err
	}
	if _, err := bl.ReleaseLease(ctx, nil); err != nil {
		return nil, done.fail("release", "%v", err)
	}
	if err := wantCode("release again", ignore(bl.ReleaseLease(ctx, nil)), bloberror.LeaseNotPresentWithLeaseOperation); err != nil {
		return nil, err
	}
	done["blob-lifecycle"] = "ok"

	// An infinite lease, listed.
	if _, err := bl.AcquireLease(ctx, -1, nil); err != nil {
		return nil, done.fail("infinite", "%v", err)
	}
	pager := cc.NewListBlobsFlatPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Segment.BlobItems) != 1 {
		return nil, done.fail("list", "err=%v", err)
	}
	p := page.Segment.BlobItems[0].Properties
	if *p.LeaseState != lease.StateTypeLeased || *p.LeaseDuration != lease.DurationTypeInfinite || *p.LeaseStatus != lease.StatusTypeLocked {
		return nil, done.fail("list", "state=%v duration=%v", *p.LeaseState, *p.LeaseDuration)
	}
	if _, err := bl.BreakLease(ctx, nil); err != nil {
		return nil, done.fail("break infinite", "%v", err)
	}
	done["blob-listing"] = "ok"

	// Container lease: Delete Container needs it.
	cl, err := lease.NewContainerClient(cc, nil)
	if err != nil {
		return nil, err
	}
	if _, err := cl.AcquireLease(ctx, 30, nil); err != nil {
		return nil, done.fail("container acquire", "%v", err)
	}
	if err := wantCode("delete leased container", ignore(cc.Delete(ctx, nil)), bloberror.LeaseIDMissing); err != nil {
		return nil, err
	}
	cprops, err := cc.GetProperties(ctx, nil)
	if err != nil || *cprops.LeaseState != lease.StateTypeLeased {
		return nil, done.fail("container properties", "err=%v", err)
	}
	if _, err := cl.RenewLease(ctx, nil); err != nil {
		return nil, done.fail("container renew", "%v", err)
	}
	if _, err := cl.ReleaseLease(ctx, nil); err != nil {
		return nil, done.fail("container release", "%v", err)
	}
	done["container"] = "ok"

	// Get Account Information at the service, a container and a blob.
	for _, get := range []func() (*string, *bool, error){
		func() (*string, *bool, error) {
			r, err := client.ServiceClient().GetAccountInfo(ctx, nil)
			return (*string)(r.AccountKind), r.IsHierarchicalNamespaceEnabled, err
		},
		func() (*string, *bool, error) {
			r, err := cc.GetAccountInfo(ctx, nil)
			return (*string)(r.AccountKind), r.IsHierarchicalNamespaceEnabled, err
		},
		func() (*string, *bool, error) {
			r, err := bb.GetAccountInfo(ctx, nil)
			return (*string)(r.AccountKind), r.IsHierarchicalNamespaceEnabled, err
		},
	} {
		kind, hns, err := get()
		if err != nil || kind == nil || *kind != "StorageV2" || hns == nil || *hns {
			return nil, done.fail("account info", "err=%v kind=%v hns=%v", err, kind, hns)
		}
	}
	done["account-info"] = "ok"

	// A page blob tier on a block blob is refused, not dropped; CRC-64 computed by azblob
	// is the server's; a delete is permanent.
	err = ignore(cc.NewBlockBlobClient("p10.txt").UploadBuffer(ctx, []byte("x"), &blockblob.UploadBufferOptions{AccessTier: to.Ptr(blob.AccessTierP10)}))
	if err := wantCode("P10 upload", err, "InvalidHeaderValue"); err != nil {
		return nil, err
	}
	sb := cc.NewBlockBlobClient("crc.txt")
	staged, err := sb.StageBlock(ctx, "YmxvY2s=", body("checked by both sides"), &blockblob.StageBlockOptions{
		TransactionalValidation: blob.TransferValidationTypeComputeCRC64()})
	if err != nil || len(staged.ContentCRC64) != 8 {
		return nil, done.fail("crc64", "err=%v crc=%v", err, staged.ContentCRC64)
	}
	if _, err := cc.NewBlobClient("leased.txt").Delete(ctx, nil); err != nil {
		return nil, done.fail("delete", "%v", err)
	}
	done["compat"] = "ok"
	return done, nil
}

// ignore keeps only the error of a call.
func ignore[T any](_ T, err error) error { return err }

// lock is one process of the lease-as-a-lock test: acquire takes an infinite lease with
// the given id (LeaseAlreadyPresent while another process holds it), release gives it
// back.
func lock(ctx context.Context, client *azblob.Client, cont, name, action, id string) (any, error) {
	bb := client.ServiceClient().NewContainerClient(cont).NewBlockBlobClient(name)
	bl, err := lease.NewBlobClient(bb, &lease.BlobClientOptions{LeaseID: to.Ptr(id)})
	if err != nil {
		return nil, err
	}
	switch action {
	case "acquire":
		if _, err := bl.AcquireLease(ctx, -1, nil); err != nil {
			return nil, err
		}
		// The holder writes under the lock.
		_, err = bb.UploadBuffer(ctx, []byte("written under "+id), &blockblob.UploadBufferOptions{
			AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr(id)}}})
	case "release":
		_, err = bl.ReleaseLease(ctx, nil)
	default:
		err = errors.New("unknown lock action " + action)
	}
	return map[string]any{"ok": err == nil}, err
}
