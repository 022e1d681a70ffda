package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// parseTags reads -tags "k=v,k2=v2" into the SDK's map.
func parseTags(s string) map[string]string {
	if s == "" {
		return nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// listNames lists a container's blob names (List Blobs: the ABAC sub-operation Blob.List).
func listNames(ctx context.Context, client *azblob.Client, cont string) ([]string, error) {
	var names []string
	pager := client.NewListBlobsFlatPager(cont, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
		}
	}
	return names, nil
}

func ifTags(expr string) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(expr)}}
}

func tagMap(ts []*blob.Tags) map[string]string {
	out := map[string]string{}
	for _, t := range ts {
		out[*t.Key] = *t.Value
	}
	return out
}

// tagsBattery exercises blob index tags through the SDK: tags on upload, SetTags and
// GetTags (ETag untouched), IfTags access conditions, FilterBlobs at the service and the
// container, with paging, and tags in listings.
func tagsBattery(ctx context.Context, client *azblob.Client, cont string) (any, error) {
	done := steps{}
	if _, err := client.CreateContainer(ctx, cont, nil); err != nil {
		return nil, err
	}
	cc := client.ServiceClient().NewContainerClient(cont)
	for i := range 6 {
		tags := map[string]string{"team": fmt.Sprintf("t%d", i%2), "rank": fmt.Sprint(i), "Project Name": "Lanyard e2e"}
		if _, err := client.UploadBuffer(ctx, cont, fmt.Sprintf("b%d", i), []byte("x"), &azblob.UploadBufferOptions{Tags: tags}); err != nil {
			return nil, done.fail("upload", "%v", err)
		}
	}
	done["upload"] = "6 blobs with tags"

	bc := cc.NewBlobClient("b0")
	got, err := bc.GetTags(ctx, nil)
	if err != nil {
		return nil, err // as is: a caller without tags/read expects the service error
	}
	if m := tagMap(got.BlobTagSet); m["team"] != "t0" || m["Project Name"] != "Lanyard e2e" || len(m) != 3 {
		return nil, done.fail("gettags", "tags %v", m)
	}
	done["gettags"] = "tags from upload"

	before, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if before.TagCount == nil || *before.TagCount != 3 {
		return nil, done.fail("tagcount", "TagCount %v", before.TagCount)
	}
	time.Sleep(1100 * time.Millisecond) // a change of Last-Modified would show at second precision
	if _, err := bc.SetTags(ctx, map[string]string{"team": "t9", "stage": "final"}, nil); err != nil {
		return nil, done.fail("settags", "%v", err)
	}
	after, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return nil, err
	}
	if *after.ETag != *before.ETag || !after.LastModified.Equal(*before.LastModified) || *after.TagCount != 2 {
		return nil, done.fail("settags", "ETag %v->%v, Last-Modified %v->%v, TagCount %v", *before.ETag, *after.ETag, before.LastModified, after.LastModified, *after.TagCount)
	}
	done["settags"] = "replaced; ETag and Last-Modified unchanged"

	// IfTags: a false condition fails with 412 ConditionNotMet, a true one passes.
	if _, err := bc.SetTags(ctx, map[string]string{"team": "t0"}, &blob.SetTagsOptions{AccessConditions: ifTags(`"team" = 'nope'`)}); errorCode(err) != "ConditionNotMet" {
		return nil, done.fail("iftags", "SetTags with a false condition: %v", err)
	}
	if _, err := bc.SetTags(ctx, map[string]string{"team": "t0", "rank": "0"}, &blob.SetTagsOptions{AccessConditions: ifTags(`"team" = 't9' AND stage = 'final'`)}); err != nil {
		return nil, done.fail("iftags", "SetTags with a true condition: %v", err)
	}
	if _, err := client.DownloadStream(ctx, cont, "b1", &azblob.DownloadStreamOptions{AccessConditions: ifTags(`team = 't0'`)}); errorCode(err) != "ConditionNotMet" {
		return nil, done.fail("iftags", "download with a false condition: %v", err)
	}
	if _, err := client.DownloadStream(ctx, cont, "b1", &azblob.DownloadStreamOptions{AccessConditions: ifTags(`team = 't1' OR team = 't3'`)}); err != nil {
		return nil, done.fail("iftags", "download with a true condition: %v", err)
	}
	if _, err := cc.NewBlobClient("b1").GetTags(ctx, &blob.GetTagsOptions{BlobAccessConditions: ifTags(`rank < '1'`)}); errorCode(err) != "ConditionNotMet" {
		return nil, done.fail("iftags", "GetTags with a false condition: %v", err)
	}
	if _, err := client.DeleteBlob(ctx, cont, "b5", &azblob.DeleteBlobOptions{AccessConditions: ifTags(`rank = '4'`)}); errorCode(err) != "ConditionNotMet" {
		return nil, done.fail("iftags", "delete with a false condition: %v", err)
	}
	done["iftags"] = "412 ConditionNotMet when false"

	// FilterBlobs at the service, paged two at a time, and at the container.
	var names []string
	var marker *string
	for {
		res, err := client.ServiceClient().FilterBlobs(ctx, `"team" = 't1' AND @container = '`+cont+`'`, &service.FilterBlobsOptions{MaxResults: to.Ptr[int32](2), Marker: marker})
		if err != nil {
			return nil, done.fail("filter", "%v", err)
		}
		for _, b := range res.Blobs {
			if *b.ContainerName != cont || b.Tags == nil || tagMap(b.Tags.BlobTagSet)["team"] != "t1" {
				return nil, done.fail("filter", "item %s/%s tags %v", *b.ContainerName, *b.Name, b.Tags)
			}
			names = append(names, *b.Name)
		}
		if res.NextMarker == nil || *res.NextMarker == "" {
			break
		}
		marker = res.NextMarker
	}
	if !slices.Equal(names, []string{"b1", "b3", "b5"}) {
		return nil, done.fail("filter", "found %v", names)
	}
	cres, err := cc.FilterBlobs(ctx, `rank >= '2' AND rank < '4'`, &container.FilterBlobsOptions{})
	if err != nil {
		return nil, done.fail("filter", "container: %v", err)
	}
	if len(cres.Blobs) != 2 || *cres.Blobs[0].Name != "b2" || *cres.Blobs[1].Name != "b3" {
		return nil, done.fail("filter", "container found %d", len(cres.Blobs))
	}
	done["filter"] = "service (paged) and container"

	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Tags: true}})
	seen := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, done.fail("listing", "%v", err)
		}
		for _, it := range page.Segment.BlobItems {
			if it.BlobTags == nil || len(it.BlobTags.BlobTagSet) == 0 || it.Properties.TagCount == nil {
				return nil, done.fail("listing", "%s without tags", *it.Name)
			}
			seen++
		}
	}
	if seen != 6 {
		return nil, done.fail("listing", "%d blobs", seen)
	}
	done["listing"] = "include=tags"
	return done, nil
}
