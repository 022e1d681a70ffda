package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// secondary runs the unmodified azblob against an RA-GRS account's secondary endpoint,
// accountURL+"-secondary" (Azure's <account>-secondary host): a blob uploaded on the
// primary reads back there, Get Blob Service Stats answers there (and not on the
// primary), Get Account Information reports the SKU on both, and a write there is
// refused with Azure's status and code.
func secondary(ctx context.Context, client *azblob.Client, cred *azidentity.ManagedIdentityCredential, accountURL, cont string) (any, error) {
	done := steps{}
	if _, err := client.CreateContainer(ctx, cont, nil); err != nil {
		return nil, done.fail("create container", "%v", err)
	}
	if _, err := client.UploadBuffer(ctx, cont, "geo.txt", []byte("replicated"), nil); err != nil {
		return nil, done.fail("upload", "%v", err)
	}
	sec, err := azblob.NewClient(accountURL+"-secondary", cred, nil)
	if err != nil {
		return nil, err
	}
	res, err := sec.DownloadStream(ctx, cont, "geo.txt", nil)
	if err != nil {
		return nil, done.fail("download from the secondary", "%v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(body) != "replicated" {
		return nil, done.fail("download from the secondary", "%q, %v", body, err)
	}
	before := time.Now().Add(-time.Minute)
	stats, err := sec.ServiceClient().GetStatistics(ctx, nil)
	if err != nil {
		return nil, done.fail("stats on the secondary", "%v", err)
	}
	g := stats.GeoReplication
	if g == nil || g.Status == nil || *g.Status != service.BlobGeoReplicationStatusLive || g.LastSyncTime == nil || g.LastSyncTime.Before(before) {
		return nil, done.fail("stats on the secondary", "%+v", g)
	}
	out := map[string]any{"ok": true, "stats": string(*g.Status)}
	_, err = client.ServiceClient().GetStatistics(ctx, nil)
	out["statsOnPrimary"] = statusAndCode(err)
	for where, c := range map[string]*azblob.Client{"primary": client, "secondary": sec} {
		info, err := c.ServiceClient().GetAccountInfo(ctx, nil)
		if err != nil {
			return nil, done.fail("account info on the "+where, "%v", err)
		}
		out["sku-"+where] = string(*info.SKUName)
	}
	_, err = sec.UploadBuffer(ctx, cont, "nope.txt", []byte("x"), nil)
	out["writeOnSecondary"] = statusAndCode(err)
	return out, nil
}

// statusAndCode is err's status and Azure error code, "" for no error.
func statusAndCode(err error) string {
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
	}
	return err.Error()
}
