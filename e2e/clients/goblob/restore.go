package main

import (
	"context"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// restoreContainer runs container soft delete through the unmodified azblob, on an
// account whose container delete retention is on: DeleteContainer keeps the container,
// NewListContainersPager with Include.Deleted shows it, a container of the same name
// can be created meanwhile, RestoreContainer refuses while it exists and afterwards
// brings the deleted one back with its blob. It returns the steps that passed.
func restoreContainer(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	if _, err := client.CreateContainer(ctx, cont, nil); err != nil {
		return nil, err
	}
	if _, err := client.UploadBuffer(ctx, cont, "kept.txt", []byte("kept through the deletion"), nil); err != nil {
		return nil, err
	}
	if _, err := client.DeleteContainer(ctx, cont, nil); err != nil {
		return nil, done.fail("delete", "%v", err)
	}
	if err := wantCode("read after delete", ignore(client.DownloadStream(ctx, cont, "kept.txt", nil)), bloberror.ContainerNotFound); err != nil {
		return nil, err
	}
	done["delete"] = "ok"

	var version string
	pager := client.NewListContainersPager(&azblob.ListContainersOptions{Prefix: &cont, Include: azblob.ListContainersInclude{Deleted: true, Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, done.fail("list", "%v", err)
		}
		for _, c := range page.ContainerItems {
			if *c.Name == cont && c.Deleted != nil && *c.Deleted && c.Version != nil && c.Properties.DeletedTime != nil &&
				c.Properties.RemainingRetentionDays != nil && *c.Properties.RemainingRetentionDays >= 1 {
				version = *c.Version
			}
		}
	}
	if version == "" {
		return nil, done.fail("list", "no deleted version of %s listed", cont)
	}
	done["list"] = version

	// The name is free while the deleted version waits; Restore then needs it free again.
	if _, err := client.CreateContainer(ctx, cont, nil); err != nil {
		return nil, done.fail("recreate", "%v", err)
	}
	svc := client.ServiceClient()
	if err := wantCode("restore over a live container", ignore(svc.RestoreContainer(ctx, cont, version, nil)), bloberror.ContainerAlreadyExists); err != nil {
		return nil, err
	}
	if _, err := svc.DeleteContainer(ctx, cont, &service.DeleteContainerOptions{}); err != nil {
		return nil, err
	}
	done["conflict"] = "ok"

	if _, err := svc.RestoreContainer(ctx, cont, version, nil); err != nil {
		return nil, done.fail("restore", "%v", err)
	}
	dl, err := client.DownloadStream(ctx, cont, "kept.txt", nil)
	if err != nil {
		return nil, done.fail("restore", "download: %v", err)
	}
	body, err := io.ReadAll(dl.Body)
	dl.Body.Close()
	if err != nil || string(body) != "kept through the deletion" {
		return nil, done.fail("restore", "%q, %v", body, err)
	}
	done["restore"] = "ok"
	return done, nil
}

// restoreNewest restores the newest deleted version of cont, found by listing.
func restoreNewest(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	var version string
	pager := client.NewListContainersPager(&azblob.ListContainersOptions{Prefix: &cont, Include: azblob.ListContainersInclude{Deleted: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range page.ContainerItems {
			if *c.Name == cont && c.Version != nil && *c.Version > version {
				version = *c.Version
			}
		}
	}
	_, err := client.ServiceClient().RestoreContainer(ctx, cont, version, nil)
	return map[string]any{"ok": err == nil, "data": version}, err
}
