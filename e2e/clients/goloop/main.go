// Command goloop is a long-running app written with the unmodified Azure SDK for Go: one
// azblob client over one ManagedIdentityCredential for its whole life, so every upload
// after the first reuses the token the SDK cached (MSAL caches per process). It uploads
// once per line read from stdin ("go") and prints one JSON result per upload:
// {"n":1,"ok":true} or {"n":2,"ok":false,"status":401,"code":"InvalidAuthenticationInfo"}.
// It exits at the end of stdin.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

func main() {
	accountURL := flag.String("account-url", "", "e.g. https://127.0.0.1:10000/acct")
	clientID := flag.String("client-id", "", "user-assigned identity (default: system-assigned)")
	cont := flag.String("container", "data", "container")
	prefix := flag.String("blob-prefix", "loop", "blob names are PREFIX-N.txt")
	flag.Parse()

	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if *clientID != "" {
		opts.ID = azidentity.ClientID(*clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		fatal(err)
	}
	client, err := azblob.NewClient(*accountURL, cred, nil)
	if err != nil {
		fatal(err)
	}
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	n := 0
	for in.Scan() {
		if strings.TrimSpace(in.Text()) != "go" {
			continue
		}
		n++
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := client.UploadBuffer(ctx, *cont, fmt.Sprintf("%s-%d.txt", *prefix, n), []byte("loop"), nil)
		cancel()
		res := map[string]any{"n": n, "ok": err == nil}
		var re *azcore.ResponseError
		switch {
		case errors.As(err, &re):
			res["status"], res["code"] = re.StatusCode, re.ErrorCode
		case err != nil:
			res["error"] = err.Error()
		}
		if err := out.Encode(res); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "goloop:", err)
	os.Exit(1)
}
