// Package blobapi serves the Azure Blob Storage REST protocol, path-style
// (https://host/{account}/{container}/{blob}), over a blob.Service, for the unmodified
// Azure SDKs.
//
// Every request goes through the same steps, in this order, before any body is read or
// any state changes: path split, x-ms-version check, account lookup, operation routing,
// credential shape check, authorization. Only then does the operation run. Errors are
// answered in Azure's shape: an XML <Error> body and an x-ms-error-code header on every
// error (also on HEAD, which has no body), with one table mapping codes to statuses.
//
// Mount the Handler directly (or under a prefix-stripping wrapper), not through
// http.ServeMux patterns: ServeMux cleans paths and would redirect blob names that
// contain "//", "/./" or "/../".
package blobapi
