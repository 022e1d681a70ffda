// Blob versions and soft delete through the unmodified @azure/storage-blob, on an
// account with versioning and soft delete on: upload answering versionId, reads through
// withVersion, listBlobsFlat({ includeVersions, includeDeleted }), delete leaving the
// versions, promoting a version with beginCopyFromURL, deleting a version and undelete.
// Used by blob.mjs --op versions; returns the steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function versions(container) {
  const steps = [];
  await container.create();
  const blob = container.getBlockBlobClient("versioned.txt");
  const up1 = await blob.upload("version one", 11);
  const up2 = await blob.upload("version two", 11);
  check("upload versionId", typeof up1.versionId === "string" && up2.versionId > up1.versionId, [up1.versionId, up2.versionId]);
  steps.push("write");

  const v1 = blob.withVersion(up1.versionId);
  const body = (await v1.downloadToBuffer()).toString();
  check("download version", body === "version one", body);
  const props = await v1.getProperties();
  check("version properties", props.versionId === up1.versionId && props.isCurrentVersion === false, props);
  const cur = await blob.getProperties();
  check("current properties", cur.versionId === up2.versionId && cur.isCurrentVersion === true, cur);
  steps.push("read");

  const listed = async (opts) => {
    const out = {};
    for await (const item of container.listBlobsFlat(opts)) {
      out[`${item.name}@${item.versionId ?? ""}`] = item.isCurrentVersion === true || item.deleted === true;
    }
    return out;
  };
  let l = await listed({ includeVersions: true });
  check("list versions", Object.keys(l).length === 2 && l[`versioned.txt@${up2.versionId}`] === true && l[`versioned.txt@${up1.versionId}`] === false, l);
  steps.push("list");

  await blob.delete();
  await expectCode("deleted blob", "BlobNotFound", () => blob.getProperties());
  l = await listed({ includeVersions: true });
  check("versions after delete", Object.keys(l).length === 2, l);
  steps.push("delete");

  const poller = await blob.beginCopyFromURL(v1.url);
  await poller.pollUntilDone();
  check("promoted", (await blob.downloadToBuffer()).toString() === "version one", null);
  steps.push("promote");

  const v2 = blob.withVersion(up2.versionId);
  await v2.delete();
  await expectCode("deleted version", "BlobNotFound", () => v2.getProperties());
  l = await listed({ includeVersions: true, includeDeleted: true });
  check("soft-deleted version listed", l[`versioned.txt@${up2.versionId}`] === true, l);
  await blob.undelete();
  check("undeleted version", (await v2.downloadToBuffer()).toString() === "version two", null);
  steps.push("undelete");
  return steps.join(",");
}
