// Package blob is the domain of Lanyard's Blob Storage: containers, block blobs, their
// properties and the rules Azure enforces on them (names, metadata, block lists,
// conditional access, listing). It knows nothing of HTTP and nothing of where bytes and
// records live: metadata goes through a MetaStore, content through a ContentStore, and
// both are injected by whoever builds the Service.
//
// Every error the package returns is a *lanyard.Error whose Code is the Azure Storage
// error code (BlobNotFound, ConditionNotMet, ...); protocol surfaces map codes to statuses.
//
// Write path, and why it is crash-safe: content is streamed to a new content file, made
// durable, and only then is the metadata that references it committed in one atomic step
// of the MetaStore. A crash before that commit leaves an unreferenced content file, which
// recovery removes on the next Open; a crash after it leaves a complete blob. Content that
// a commit makes unreferenced is deleted once no reader that may still use it is running.
// A small Put Blob body (up to inlineMax) skips the file: its bytes ride in the record
// (Extent.Inline), durable with the commit itself.
package blob
