// Command goworkload is a CI job or a Kubernetes pod as a user would write it with the
// unmodified Azure SDK for Go: azidentity.NewWorkloadIdentityCredential, configured by the
// environment alone (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST), with the one option every non-Microsoft authority needs,
// DisableInstanceDiscovery. Each run is a fresh process, so MSAL's caches never carry over.
//
// Usage:
//
//	goworkload -op token [-scope S]                        prints {"token": ...}
//	goworkload -op put -account-url U -container C -blob B -data D
//	                                                        uploads, reads back, prints {"ok":true,"data":...}
//
// A failure is printed on stderr and exits 1.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

func main() {
	op := flag.String("op", "token", "token or put")
	scope := flag.String("scope", "https://storage.azure.com/.default", "token: the scope to ask for")
	accountURL := flag.String("account-url", "", "put: e.g. https://127.0.0.1:10000/acct")
	cont := flag.String("container", "federated", "put: container")
	name := flag.String("blob", "hello.txt", "put: blob name")
	data := flag.String("data", "hello", "put: content")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		fatal(fmt.Errorf("new credential: %w", err))
	}
	var result any
	switch *op {
	case "token":
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{*scope}})
		if err != nil {
			fatal(fmt.Errorf("get token: %w", err))
		}
		result = map[string]any{"token": tok.Token, "expiresOn": tok.ExpiresOn.Unix()}
	case "put":
		result, err = put(ctx, cred, *accountURL, *cont, *name, *data)
		if err != nil {
			fatal(err)
		}
	default:
		fatal(fmt.Errorf("unknown -op %q", *op))
	}
	_ = json.NewEncoder(os.Stdout).Encode(result)
}

// put uploads data with azblob, where the identity holds a data role, and reads it back.
func put(ctx context.Context, cred *azidentity.WorkloadIdentityCredential, accountURL, cont, name, data string) (any, error) {
	client, err := azblob.NewClient(accountURL, cred, nil)
	if err != nil {
		return nil, err
	}
	if _, err := client.CreateContainer(ctx, cont, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil, fmt.Errorf("create container: %w", err)
	}
	if _, err := client.UploadBuffer(ctx, cont, name, []byte(data), nil); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	resp, err := client.DownloadStream(ctx, cont, name, nil)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if buf.String() != data {
		return nil, errors.New("downloaded content differs from what was uploaded")
	}
	return map[string]any{"ok": true, "data": buf.String()}, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "goworkload:", err)
	os.Exit(1)
}
