package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// makeSAS gets a user delegation key (GetUserDelegationCredential) and signs a SAS for
// one blob with it, as an app handing a download link to another process would.
func makeSAS(ctx context.Context, client *azblob.Client, cont, name, perms string) (any, error) {
	now := time.Now().UTC()
	cred, err := client.ServiceClient().GetUserDelegationCredential(ctx, service.KeyInfo{
		Start: to.Ptr(now.Add(-time.Minute).Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat)),
	}, nil)
	if err != nil {
		return nil, err
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPS, StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(30 * time.Minute),
		Permissions: perms, ContainerName: cont, BlobName: name,
	}.SignWithUserDelegation(cred)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "data": strings.TrimSuffix(client.URL(), "/") + "/" + cont + "/" + name + "?" + qp.Encode()}, nil
}

// sasGet downloads with a SAS URL and no credential at all.
func sasGet(ctx context.Context, url string) (any, error) {
	c, err := blob.NewClientWithNoCredential(url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.DownloadStream(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "data": buf.String()}, nil
}
