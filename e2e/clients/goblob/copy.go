package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// copyBattery copies the blob at sourceURL (which may be in another account) into cont
// with each of the SDK's copy calls: StartCopyFromURL, CopyFromURL (synchronous),
// UploadBlobFromURL, StageBlockFromURL with two ranges, and AbortCopyFromURL of the
// finished copy; each copy must read back as the source. The first call's error is
// returned as is, so that a refusal reaches the caller with its code.
func copyBattery(ctx context.Context, client *azblob.Client, cont, name, sourceURL string) (any, error) {
	cc := client.ServiceClient().NewContainerClient(cont)
	dst := cc.NewBlockBlobClient(name)
	started, err := dst.StartCopyFromURL(ctx, sourceURL, &blob.StartCopyFromURLOptions{Metadata: map[string]*string{"copied": to.Ptr("yes")}})
	if err != nil {
		return nil, err
	}
	s := steps{}
	if started.CopyStatus == nil || *started.CopyStatus != blob.CopyStatusTypeSuccess || started.CopyID == nil {
		return nil, s.fail("start-copy", "status %v id %v", started.CopyStatus, started.CopyID)
	}
	want, err := readAll(ctx, dst)
	if err != nil {
		return nil, err
	}
	props, err := dst.GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if props.CopyID == nil || *props.CopyID != *started.CopyID || props.CopyProgress == nil || props.CopySource == nil || metadata(props.Metadata, "copied") != "yes" {
		return nil, s.fail("copy-properties", "%+v", props)
	}
	_, err = dst.AbortCopyFromURL(ctx, *started.CopyID, nil)
	if !bloberror.HasCode(err, bloberror.NoPendingCopyOperation) {
		return nil, s.fail("abort", "got %v, want NoPendingCopyOperation", err)
	}
	syncDst := cc.NewBlockBlobClient(name + "-sync")
	synced, err := syncDst.CopyFromURL(ctx, sourceURL, nil)
	if err != nil {
		return nil, fmt.Errorf("sync copy: %w", err)
	}
	if synced.CopyStatus == nil || *synced.CopyStatus != "success" {
		return nil, s.fail("sync-copy", "status %v", synced.CopyStatus)
	}
	putDst := cc.NewBlockBlobClient(name + "-put")
	if _, err := putDst.UploadBlobFromURL(ctx, sourceURL, nil); err != nil {
		return nil, fmt.Errorf("upload from URL: %w", err)
	}
	blocksDst := cc.NewBlockBlobClient(name + "-blocks")
	half := int64(len(want) / 2)
	ids := []string{"YmxvY2stMDA=", "YmxvY2stMDE="}
	for i, rg := range []blob.HTTPRange{{Offset: 0, Count: half}, {Offset: half}} {
		if _, err := blocksDst.StageBlockFromURL(ctx, ids[i], sourceURL, &blockblob.StageBlockFromURLOptions{Range: rg}); err != nil {
			return nil, fmt.Errorf("stage block from URL: %w", err)
		}
	}
	if _, err := blocksDst.CommitBlockList(ctx, ids, nil); err != nil {
		return nil, err
	}
	for _, c := range []*blockblob.Client{syncDst, putDst, blocksDst} {
		got, err := readAll(ctx, c)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(got, want) {
			return nil, s.fail("content", "%s: %q, want %q", c.URL(), got, want)
		}
	}
	return map[string]any{"ok": true, "data": string(want)}, nil
}

func readAll(ctx context.Context, c *blockblob.Client) ([]byte, error) {
	resp, err := c.DownloadStream(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
