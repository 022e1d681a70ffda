// Command uploader is the app of the README's walkthrough: it uploads one blob with the
// unmodified Azure SDK for Go, configured by nothing but its environment, exactly as it
// would run on Azure. Run it as an app with `lanyard app run -g RG -n APP -- go run
// ./examples/uploader`, which sets that environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "uploader:", err)
		os.Exit(1)
	}
}

func run() error {
	account := os.Getenv("AZURE_STORAGE_ACCOUNT_URL")
	if account == "" {
		return errors.New("AZURE_STORAGE_ACCOUNT_URL is not set: `lanyard app run` sets it when the app's identities hold a role on exactly one storage account")
	}
	container := os.Getenv("AZURE_STORAGE_CONTAINER")
	if container == "" {
		container = "uploads"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := fmt.Appendf(nil, "hello from %s at %s\n", whoami(), time.Now().UTC().Format(time.RFC3339))

	// DefaultAzureCredential reads AZURE_CLIENT_ID and then asks for that user-assigned
	// identity, as on Azure; NewManagedIdentityCredential(nil) always asks for the
	// system-assigned identity.
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return fmt.Errorf("credential: %w", err)
	}
	client, err := azblob.NewClient(account, cred, nil)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	_, err = client.CreateContainer(ctx, container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return describe("create container "+container, err)
	}
	_, err = client.UploadBuffer(ctx, container, "hello.txt", body, nil)
	if err != nil {
		return describe("upload", err)
	}
	fmt.Printf("uploaded %s/hello.txt (%d bytes) to %s\n", container, len(body), account)
	return nil
}

// describe puts the service's status and error code first: that is what tells a missing
// role (403 AuthorizationPermissionMismatch) from anything else.
func describe(what string, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %d %s", what, re.StatusCode, re.ErrorCode)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// whoami names the identity the app asked for.
func whoami() string {
	if id := os.Getenv("AZURE_CLIENT_ID"); id != "" {
		return "user-assigned identity " + id
	}
	return "the system-assigned identity"
}
