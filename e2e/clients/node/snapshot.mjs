// Blob snapshots through the unmodified @azure/storage-blob: createSnapshot, reads through
// withSnapshot (tags included), listBlobsFlat({ includeSnapshots }), deleting one snapshot and the blob
// with its snapshots. Used by blob.mjs --op snapshots; returns the steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function snapshots(container) {
  const steps = [];
  await container.create();
  const blob = container.getBlockBlobClient("snap.txt");
  await blob.upload("version one", 11, { metadata: { v: "1" }, tags: { stage: "raw" } });
  const snap = await blob.createSnapshot();
  check("createSnapshot", typeof snap.snapshot === "string" && snap.etag, snap);
  steps.push("create");
  await blob.upload("version two", 11);

  const old = blob.withSnapshot(snap.snapshot);
  const body = (await old.downloadToBuffer()).toString();
  check("download", body === "version one", body);
  const props = await old.getProperties();
  check("properties", props.metadata.v === "1", props.metadata);
  steps.push("read");

  // The snapshot keeps the tags the blob had; setting its own changes neither the blob's
  // nor its ETag.
  await blob.setTags({ stage: "done" });
  const tags = (await old.getTags()).tags;
  check("snapshot tags", Object.keys(tags).length === 1 && tags.stage === "raw", tags);
  check("snapshot tag count", props.tagCount === 1, props.tagCount);
  await old.setTags({ stage: "x" });
  const retagged = (await old.getTags()).tags;
  check("set snapshot tags", Object.keys(retagged).length === 1 && retagged.stage === "x", retagged);
  check("snapshot etag after set tags", (await old.getProperties()).etag === props.etag, props.etag);
  const blobTags = (await blob.getTags()).tags;
  check("blob tags after snapshot tags", blobTags.stage === "done", blobTags);
  steps.push("tags");

  await expectCode("delete with snapshots", "SnapshotsPresent", () => blob.delete());
  const listed = [];
  for await (const item of container.listBlobsFlat({ includeSnapshots: true })) {
    listed.push(item.snapshot ? `${item.name}@${item.snapshot}` : item.name);
  }
  check("list", listed.length === 2 && listed[0] === `snap.txt@${snap.snapshot}` && listed[1] === "snap.txt", listed);
  steps.push("list");

  await old.delete();
  await expectCode("deleted snapshot", "BlobNotFound", () => old.getProperties());
  await blob.createSnapshot();
  const res = await blob.deleteIfExists({ deleteSnapshots: "include" });
  check("deleteIfExists", res.succeeded, res);
  check("gone", !(await blob.exists()), null);
  steps.push("delete");
  return steps.join(",");
}
