package blobapi

import (
	"net/http"
	"net/url"
	"strings"
)

// maxAccountName bounds the account segment before it reaches AccountLookup.
const maxAccountName = 64

// target is what a request addresses, plus what the steps before the operation learned.
type target struct {
	account, container, blob string
	rid                      string
	// sku is the account's SKU; secondary is set when the request came to the account's
	// read-only secondary endpoint (/{account}-secondary).
	sku       string
	secondary bool
	query     url.Values
	// createOnly is set when Put Blob was authorized through add/action only: the
	// caller may create the blob but not replace it.
	createOnly bool
	// tags are the index tags the request writes, once read (see requestTags).
	tags *requestTags
	// snapshot is the snapshot a read or delete addresses (?snapshot=), canonical;
	// version the version (?versionid=).
	snapshot string
	version  string
}

// operation is one REST operation: how to authorize it and how to run it.
type operation struct {
	name   string
	action string
	data   bool
	run    func(h *Handler, w http.ResponseWriter, r *http.Request, t *target) error
}

// splitPath splits a decoded path /{account}[/{container}[/{blob}]]. The blob name is
// everything after the container's slash, kept as is (slashes, trailing slash, spaces)
// but for backslashes, sent raw or as %5C: Azure reads them as slashes (the SDKs' own
// tests sign a SAS for the name with "\" replaced by "/"), in the path, not in queries.
func splitPath(p string) (account, container, blobName string, ok bool) {
	rest, found := strings.CutPrefix(strings.ReplaceAll(p, `\`, "/"), "/")
	if !found {
		return "", "", "", false
	}
	account, rest, _ = strings.Cut(rest, "/")
	container, blobName, _ = strings.Cut(rest, "/")
	if account == "" || len(account) > maxAccountName || (container == "" && blobName != "") {
		return "", "", "", false
	}
	return account, container, blobName, true
}

// Operations served.
var (
	opListContainers   = &operation{"ListContainers", ActionContainersRead, false, (*Handler).listContainers}
	opCreateContainer  = &operation{"CreateContainer", ActionContainersWrite, false, (*Handler).createContainer}
	opGetContainer     = &operation{"GetContainerProperties", ActionContainersRead, false, (*Handler).getContainer}
	opGetContainerMeta = &operation{"GetContainerMetadata", ActionContainersRead, false, (*Handler).getContainer}
	opSetContainerMeta = &operation{"SetContainerMetadata", ActionContainersWrite, false, (*Handler).setContainerMetadata}
	opDeleteContainer  = &operation{"DeleteContainer", ActionContainersDelete, false, (*Handler).deleteContainer}
	opRestoreContainer = &operation{"RestoreContainer", ActionContainersWrite, false, (*Handler).restoreContainer}
	opListBlobs        = &operation{"ListBlobs", ActionBlobsRead, true, (*Handler).listBlobs}
	opPutBlob          = &operation{"PutBlob", ActionBlobsWrite, true, (*Handler).putBlob}
	opPutBlock         = &operation{"PutBlock", ActionBlobsWrite, true, (*Handler).putBlock}
	opPutBlockList     = &operation{"PutBlockList", ActionBlobsWrite, true, (*Handler).putBlockList}
	opGetBlockList     = &operation{"GetBlockList", ActionBlobsRead, true, (*Handler).getBlockList}
	opGetBlob          = &operation{"GetBlob", ActionBlobsRead, true, (*Handler).getBlob}
	opGetBlobProps     = &operation{"GetBlobProperties", ActionBlobsRead, true, (*Handler).getBlob}
	opGetBlobMeta      = &operation{"GetBlobMetadata", ActionBlobsRead, true, (*Handler).getBlobMetadata}
	opSetBlobMeta      = &operation{"SetBlobMetadata", ActionBlobsWrite, true, (*Handler).setBlobMetadata}
	opSetBlobProps     = &operation{"SetBlobProperties", ActionBlobsWrite, true, (*Handler).setBlobProperties}
	opDeleteBlob       = &operation{"DeleteBlob", ActionBlobsDelete, true, (*Handler).deleteBlob}
)

// unsupportedComps are operations Azure has and Lanyard does not (yet): answered 501,
// which the SDKs do not retry, rather than 400, which would claim the request is wrong.
var unsupportedComps = map[string]bool{
	"acl": true, "lease": true, "copy": true,
	"expiry": true, "query": true,
	"incrementalcopy": true, "immutabilitypolicies": true, "legalhold": true,
	"properties": true,
	"rename":     true,
}

// route picks the operation for a request. It reads nothing but the method, the query
// and headers.
func route(r *http.Request, t *target) (*operation, error) {
	q := t.query
	comp, restype := q.Get("comp"), q.Get("restype")
	if q.Has("versionid") {
		return routeVersion(r, t)
	}
	if q.Has("snapshot") {
		return routeSnapshot(r, t)
	}
	if restype == "account" {
		return routeAccount(r, t)
	}
	m := r.Method
	switch {
	case t.container == "":
		if restype == "" && comp == "list" {
			return method(m, map[string]*operation{http.MethodGet: opListContainers})
		}
		if restype == "service" && comp == "userdelegationkey" {
			return method(m, map[string]*operation{http.MethodPost: opGetUserDelegationKey})
		}
		if restype == "service" && comp == "properties" {
			return method(m, map[string]*operation{http.MethodGet: opGetServiceProps, http.MethodPut: opSetServiceProps})
		}
		if restype == "service" && comp == "stats" {
			return routeStats(r, t)
		}
		// restype=container too: the JavaScript SDK takes a path-style service URL
		// (/{account}) for a container's and sends a container-scoped batch without a
		// container, which can only mean the account.
		if comp == "batch" && (restype == "" || restype == "container") {
			return method(m, map[string]*operation{http.MethodPost: opSubmitBatch})
		}
		if restype == "" && comp == "blobs" {
			return method(m, map[string]*operation{http.MethodGet: opFindBlobs})
		}
		if unsupportedComps[strings.ToLower(comp)] {
			return nil, errNotImplemented("comp=" + comp)
		}
		return nil, errInvalidQuery("comp", comp, "")
	case t.blob == "" && restype == "container":
		switch comp {
		case "":
			return method(m, map[string]*operation{http.MethodPut: opCreateContainer, http.MethodGet: opGetContainer,
				http.MethodHead: opGetContainer, http.MethodDelete: opDeleteContainer})
		case "metadata":
			return method(m, map[string]*operation{http.MethodPut: opSetContainerMeta, http.MethodGet: opGetContainerMeta,
				http.MethodHead: opGetContainerMeta})
		case "list":
			return method(m, map[string]*operation{http.MethodGet: opListBlobs})
		case "acl":
			return method(m, map[string]*operation{http.MethodPut: opSetContainerACL, http.MethodGet: opGetContainerACL,
				http.MethodHead: opGetContainerACL})
		case "batch":
			return method(m, map[string]*operation{http.MethodPost: opSubmitBatch})
		case "blobs":
			return method(m, map[string]*operation{http.MethodGet: opFindBlobs})
		case "lease":
			return method(m, map[string]*operation{http.MethodPut: opLeaseContainer})
		case "undelete":
			return method(m, map[string]*operation{http.MethodPut: opRestoreContainer})
		}
		if unsupportedComps[strings.ToLower(comp)] {
			return nil, errNotImplemented("comp=" + comp)
		}
		return nil, errInvalidQuery("comp", comp, "")
	case restype != "":
		return nil, errInvalidQuery("restype", restype, "")
	}
	if t.blob == "" {
		// /{account}/{name} without restype addresses blob {name} in the root
		// container, as in Azure.
		t.container, t.blob = "$root", t.container
	}
	if m == http.MethodPut && (comp == "" || comp == "blocklist") {
		if err := refuseAccessTier(r); err != nil {
			return nil, err
		}
	}
	if op, err := routeCopy(r, comp); op != nil || err != nil {
		return op, err
	}
	if op, err := routeAppendPage(r, comp); op != nil || err != nil {
		return op, err
	}
	switch comp {
	case "":
		if m == http.MethodPut {
			switch bt := r.Header.Get("x-ms-blob-type"); {
			case bt == "":
				return nil, errMissingHeader("x-ms-blob-type")
			case bt != "BlockBlob":
				return nil, errInvalidHeader("x-ms-blob-type", bt)
			}
		}
		return method(m, map[string]*operation{http.MethodPut: opPutBlob, http.MethodGet: opGetBlob,
			http.MethodHead: opGetBlobProps, http.MethodDelete: opDeleteBlob})
	case "block":
		return method(m, map[string]*operation{http.MethodPut: opPutBlock})
	case "blocklist":
		return method(m, map[string]*operation{http.MethodPut: opPutBlockList, http.MethodGet: opGetBlockList})
	case "metadata":
		return method(m, map[string]*operation{http.MethodPut: opSetBlobMeta, http.MethodGet: opGetBlobMeta, http.MethodHead: opGetBlobMeta})
	case "properties":
		return method(m, map[string]*operation{http.MethodPut: opSetBlobProps})
	case "tags":
		return method(m, map[string]*operation{http.MethodPut: opSetBlobTags, http.MethodGet: opGetBlobTags})
	case "lease":
		return method(m, map[string]*operation{http.MethodPut: opLeaseBlob})
	case "tier":
		return method(m, map[string]*operation{http.MethodPut: opSetBlobTier})
	case "snapshot":
		return method(m, map[string]*operation{http.MethodPut: opSnapshotBlob})
	case "undelete":
		return method(m, map[string]*operation{http.MethodPut: opUndeleteBlob})
	}
	if unsupportedComps[strings.ToLower(comp)] {
		return nil, errNotImplemented("comp=" + comp)
	}
	return nil, errInvalidQuery("comp", comp, "")
}

func method(m string, ops map[string]*operation) (*operation, error) {
	if op, ok := ops[m]; ok {
		return op, nil
	}
	return nil, errVerb()
}
