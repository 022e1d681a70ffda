// Command goblob is an app as a user would write it with the unmodified Azure SDK for Go:
// azblob.NewClient(accountURL, azidentity.NewManagedIdentityCredential(...)). Each run
// performs one operation (or, with -op roundtrip, the whole battery of SDK upload,
// download, listing, metadata and conditional calls) and prints a JSON result; a service
// error is reported as {"ok":false,"status":...,"code":...} so the calling test can
// assert on Azure's error code.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

func main() {
	accountURL := flag.String("account-url", "", "e.g. https://127.0.0.1:10000/acct")
	clientID := flag.String("client-id", "", "user-assigned identity (default: system-assigned)")
	op := flag.String("op", "put", "put, get, delete, list, create-container, create-append, append, appendpage, pagediff, tags, roundtrip, leases, tiers, set-tier (-data: the tier), get-tier, snapshots, versions, restore-container (the battery), restore-container-only (the newest deleted version), delete-container, lock-acquire, lock-release (-data: the lease id), copy (-source-url), secondary (an RA-GRS account's secondary endpoint)")
	cont := flag.String("container", "data", "container")
	name := flag.String("blob", "hello.txt", "blob name")
	data := flag.String("data", "hello", "content for put")
	bigMiB := flag.Int("big-mib", 0, "roundtrip: also upload and download a blob of this many MiB; put: upload this many MiB of random data instead of -data")
	count := flag.Int("count", 1, "append: blocks to append")
	tags := flag.String("tags", "", "put: index tags, k=v,k2=v2")
	perms := flag.String("perms", "r", "make-sas: the SAS's permissions")
	sasURL := flag.String("sas-url", "", "sas-get: the blob URL with its SAS")
	sourceURL := flag.String("source-url", "", "copy: the blob to copy")
	flag.Parse()
	if *op == "sas-get" {
		// No credential of any kind: the SAS is all this process has.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := sasGet(ctx, *sasURL)
		cancel()
		emit(res, err)
		return
	}

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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var result any
	switch *op {
	case "create-container":
		_, err = client.CreateContainer(ctx, *cont, nil)
		result = map[string]any{"ok": err == nil}
	case "put":
		body := []byte(*data)
		if *bigMiB > 0 {
			body = random(*bigMiB << 20)
		}
		_, err = client.UploadBuffer(ctx, *cont, *name, body, &azblob.UploadBufferOptions{Tags: parseTags(*tags)})
		result = map[string]any{"ok": err == nil}
	case "delete":
		_, err = client.DeleteBlob(ctx, *cont, *name, nil)
		result = map[string]any{"ok": err == nil}
	case "get":
		var buf bytes.Buffer
		var resp azblob.DownloadStreamResponse
		resp, err = client.DownloadStream(ctx, *cont, *name, nil)
		if err == nil {
			_, err = io.Copy(&buf, resp.Body)
			resp.Body.Close()
		}
		result = map[string]any{"ok": err == nil, "data": buf.String()}
	case "create-append":
		_, err = client.ServiceClient().NewContainerClient(*cont).NewAppendBlobClient(*name).Create(ctx, nil)
		result = map[string]any{"ok": err == nil}
	case "append":
		result, err = appendMany(ctx, client, *cont, *name, *data, *count)
	case "appendpage":
		result, err = appendPage(ctx, client, *cont)
	case "pagediff":
		result, err = pageDiffs(ctx, client, *cont)
	case "tags":
		result, err = tagsBattery(ctx, client, *cont)
	case "list":
		var names []string
		names, err = listNames(ctx, client, *cont)
		result = map[string]any{"ok": err == nil, "data": strings.Join(names, ",")}
	case "roundtrip":
		result, err = roundtrip(ctx, client, *cont, *bigMiB)
	case "leases":
		result, err = leases(ctx, client, *cont)
	case "tiers":
		result, err = tiers(ctx, client, *cont)
	case "get-tier":
		var p blob.GetPropertiesResponse
		p, err = client.ServiceClient().NewContainerClient(*cont).NewBlobClient(*name).GetProperties(ctx, nil)
		result = map[string]any{"ok": err == nil, "data": deref(p.AccessTier)}
	case "set-tier":
		_, err = client.ServiceClient().NewContainerClient(*cont).NewBlobClient(*name).SetTier(ctx, blob.AccessTier(*data), nil)
		result = map[string]any{"ok": err == nil}
	case "snapshots":
		result, err = snapshots(ctx, client, *cont)
	case "restore-container":
		result, err = restoreContainer(ctx, client, *cont)
	case "restore-container-only":
		result, err = restoreNewest(ctx, client, *cont)
	case "delete-container":
		_, err = client.DeleteContainer(ctx, *cont, nil)
		result = map[string]any{"ok": err == nil}
	case "versions":
		result, err = versions(ctx, client, *cont)
	case "lock-acquire", "lock-release":
		result, err = lock(ctx, client, *cont, *name, strings.TrimPrefix(*op, "lock-"), *data)
	case "acl-cors":
		result, err = aclCORS(ctx, client, *accountURL, *cont, *data)
	case "copy":
		result, err = copyBattery(ctx, client, *cont, *name, *sourceURL)
	case "make-sas":
		result, err = makeSAS(ctx, client, *cont, *name, *perms)
	case "secondary":
		result, err = secondary(ctx, client, cred, *accountURL, *cont)
	default:
		fatal(fmt.Errorf("unknown -op %q", *op))
	}
	emit(result, err)
}

// emit prints the result, or the service error's status and code (exit 3).
func emit(result any, err error) {
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) {
			_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"ok": false, "status": re.StatusCode, "code": re.ErrorCode})
			os.Exit(3)
		}
		fatal(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(result)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "goblob:", err)
	os.Exit(1)
}

// check records a named step of the round trip.
type steps map[string]string

func (s steps) fail(step string, format string, args ...any) error {
	return fmt.Errorf("%s: %s", step, fmt.Sprintf(format, args...))
}

func roundtrip(ctx context.Context, client *azblob.Client, cont string, bigMiB int) (any, error) {
	done := steps{}
	if _, err := client.CreateContainer(ctx, cont, &azblob.CreateContainerOptions{Metadata: map[string]*string{"purpose": to.Ptr("e2e")}}); err != nil {
		return nil, err
	}
	if _, err := client.CreateContainer(ctx, cont, nil); !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil, done.fail("create twice", "got %v, want ContainerAlreadyExists", err)
	}
	done["containers"] = "ok"

	// Small UploadBuffer (single Put Blob) and DownloadBuffer.
	small := []byte("hello, lanyard")
	if _, err := client.UploadBuffer(ctx, cont, "dir/small.txt", small, &azblob.UploadBufferOptions{Metadata: map[string]*string{"k1": to.Ptr("v1")}}); err != nil {
		return nil, err
	}
	buf := make([]byte, len(small))
	if _, err := client.DownloadBuffer(ctx, cont, "dir/small.txt", buf, nil); err != nil || !bytes.Equal(buf, small) {
		return nil, done.fail("download small", "err=%v data=%q", err, buf)
	}
	done["small"] = "ok"

	// UploadStream of 5 MiB + a bit: several Put Block calls and a Put Block List.
	streamData := random(5<<20 + 12345)
	if _, err := client.UploadStream(ctx, cont, "stream.bin", bytes.NewReader(streamData), &azblob.UploadStreamOptions{BlockSize: 1 << 20}); err != nil {
		return nil, err
	}
	// DownloadFile: parallel ranged GETs pinned with If-Match.
	dir, err := os.MkdirTemp("", "goblob")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "stream.bin"))
	if err != nil {
		return nil, err
	}
	n, err := client.DownloadFile(ctx, cont, "stream.bin", f, &azblob.DownloadFileOptions{BlockSize: 1 << 20, Concurrency: 4})
	f.Close()
	if err != nil || n != int64(len(streamData)) {
		return nil, done.fail("download file", "n=%d err=%v", n, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "stream.bin"))
	if sha256.Sum256(got) != sha256.Sum256(streamData) {
		return nil, done.fail("download file", "content differs")
	}
	done["stream"] = "ok"

	// Ranged download through the blob client.
	bc := client.ServiceClient().NewContainerClient(cont).NewBlobClient("stream.bin")
	resp, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 100, Count: 50}})
	if err != nil {
		return nil, err
	}
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(part, streamData[100:150]) {
		return nil, done.fail("range", "got %d bytes, wrong content", len(part))
	}
	done["range"] = "ok"

	// Metadata and properties.
	if _, err := bc.SetMetadata(ctx, map[string]*string{"color": to.Ptr("blue")}, nil); err != nil {
		return nil, err
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil || metadata(props.Metadata, "color") != "blue" || *props.ContentLength != int64(len(streamData)) {
		return nil, done.fail("properties", "err=%v meta=%v", err, props.Metadata)
	}
	done["metadata"] = "ok"

	// Conditional requests: a stale ETag is refused with ConditionNotMet.
	stale := props.ETag
	if _, err := client.UploadBuffer(ctx, cont, "stream.bin", []byte("new"), &azblob.UploadBufferOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: stale}},
	}); err != nil {
		return nil, done.fail("if-match current", "%v", err)
	}
	_, err = client.UploadBuffer(ctx, cont, "stream.bin", []byte("newer"), &azblob.UploadBufferOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: stale}},
	})
	if !bloberror.HasCode(err, bloberror.ConditionNotMet) {
		return nil, done.fail("if-match stale", "got %v, want ConditionNotMet", err)
	}
	_, err = bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: stale}}})
	if !bloberror.HasCode(err, bloberror.ConditionNotMet) {
		return nil, done.fail("HEAD if-match stale", "got %v, want ConditionNotMet", err)
	}
	done["conditions"] = "ok"

	// Hierarchy listing with paging: 25 blobs under a/, 5 under b/, paged 7 at a time.
	for i := range 25 {
		if _, err := client.UploadBuffer(ctx, cont, fmt.Sprintf("a/%02d.txt", i), []byte{byte(i)}, nil); err != nil {
			return nil, err
		}
	}
	for i := range 5 {
		if _, err := client.UploadBuffer(ctx, cont, fmt.Sprintf("b/x/%d.txt", i), []byte{byte(i)}, nil); err != nil {
			return nil, err
		}
	}
	cc := client.ServiceClient().NewContainerClient(cont)
	var names, prefixes []string
	pages := 0
	pager := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{MaxResults: to.Ptr(int32(7)), Include: container.ListBlobsInclude{Metadata: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		pages++
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
		for _, p := range page.Segment.BlobPrefixes {
			prefixes = append(prefixes, *p.Name)
		}
	}
	if fmt.Sprint(prefixes) != "[a/ b/ dir/]" || fmt.Sprint(names) != "[stream.bin]" {
		return nil, done.fail("hierarchy", "prefixes %v names %v", prefixes, names)
	}
	flat := 0
	flatPager := client.NewListBlobsFlatPager(cont, &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("a/"), MaxResults: to.Ptr(int32(10))})
	for flatPager.More() {
		page, err := flatPager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		flat += len(page.Segment.BlobItems)
	}
	if flat != 25 {
		return nil, done.fail("flat listing", "got %d blobs under a/, want 25", flat)
	}
	done["listing"] = "ok"

	// Delete, then a 404 with BlobNotFound.
	if _, err := client.DeleteBlob(ctx, cont, "dir/small.txt", nil); err != nil {
		return nil, err
	}
	if _, err := bc.GetProperties(ctx, nil); err != nil {
		return nil, err
	}
	if _, err := client.ServiceClient().NewContainerClient(cont).NewBlobClient("dir/small.txt").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		return nil, done.fail("deleted blob", "got %v, want BlobNotFound", err)
	}
	done["delete"] = "ok"

	if bigMiB > 0 {
		// Above 256 MiB UploadBuffer switches from Put Blob to blocks.
		big := random(bigMiB << 20)
		if _, err := client.UploadBuffer(ctx, cont, "big.bin", big, nil); err != nil {
			return nil, err
		}
		back := make([]byte, len(big))
		if _, err := client.DownloadBuffer(ctx, cont, "big.bin", back, &azblob.DownloadBufferOptions{Concurrency: 8}); err != nil {
			return nil, err
		}
		if sha256.Sum256(back) != sha256.Sum256(big) {
			return nil, done.fail("big", "content differs")
		}
		done["big"] = fmt.Sprintf("%d MiB ok", bigMiB)
	}
	return done, nil
}

// metadata reads a metadata value whatever the case of its key: Azure keeps the case a key
// was written with, but HTTP stacks canonicalise header names on the way.
func metadata(md map[string]*string, key string) string {
	for k, v := range md {
		if strings.EqualFold(k, key) && v != nil {
			return *v
		}
	}
	return ""
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
