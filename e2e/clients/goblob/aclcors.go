package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// aclCORS sets and reads back a container's stored access policies and the account's
// CORS rules, checks that public access is refused, and sends a CORS preflight (no
// credential) that the rules answer.
func aclCORS(ctx context.Context, client *azblob.Client, accountURL, cont, origin string) (any, error) {
	cc := client.ServiceClient().NewContainerClient(cont)
	start := time.Now().UTC().Truncate(time.Second)
	acl := []*container.SignedIdentifier{{ID: to.Ptr("readers"), AccessPolicy: &container.AccessPolicy{
		Start: to.Ptr(start), Expiry: to.Ptr(start.Add(24 * time.Hour)), Permission: to.Ptr("rl")}}}
	if _, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{ContainerACL: acl}); err != nil {
		return nil, err
	}
	got, err := cc.GetAccessPolicy(ctx, nil)
	if err != nil {
		return nil, err
	}
	if len(got.SignedIdentifiers) != 1 || *got.SignedIdentifiers[0].ID != "readers" || !got.SignedIdentifiers[0].AccessPolicy.Start.Equal(start) {
		return nil, fmt.Errorf("GetAccessPolicy = %+v", got)
	}
	_, err = cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeContainer)})
	if !bloberror.HasCode(err, "PublicAccessNotPermitted") {
		return nil, fmt.Errorf("public access: got %w, want PublicAccessNotPermitted", err)
	}

	rule := &service.CORSRule{AllowedOrigins: to.Ptr(origin), AllowedMethods: to.Ptr("GET,PUT"), AllowedHeaders: to.Ptr("x-ms-*"),
		ExposedHeaders: to.Ptr("x-ms-request-id"), MaxAgeInSeconds: to.Ptr[int32](300)}
	if _, err := client.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{rule}}); err != nil {
		return nil, err
	}
	props, err := client.ServiceClient().GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if len(props.CORS) != 1 || *props.CORS[0].AllowedOrigins != origin {
		return nil, fmt.Errorf("GetProperties CORS = %+v", props.CORS)
	}
	// A browser's preflight carries no credential.
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, strings.TrimSuffix(accountURL, "/")+"/"+cont+"/x.txt", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "x-ms-blob-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return map[string]any{"ok": true, "data": fmt.Sprintf("%d %s %s", resp.StatusCode,
		resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Allow-Methods"))}, nil
}
