// Page blob calls of the unmodified @azure/storage-blob that involve snapshots and copy
// sources: uploadPagesFromURL, getPageRangesDiff and listPageRangesDiff (of the blob and
// of a snapshot, with a range), and their errors. Used by blob.mjs --op pagediff;
// returns the steps that passed.
import { createHash } from "node:crypto";
import { expectCode, check } from "./expect.mjs";

// spans lists a getPageRangesDiff answer as "page a-b" and "clear a-b" (Start and End as
// the service sent them), in offset order. The SDK reports a range as offset and
// count = End - Start, one less than its length.
function spans(res) {
  const out = [
    ...(res.pageRange ?? []).map((r) => [r.offset, `page ${r.offset}-${r.offset + r.count}`]),
    ...(res.clearRange ?? []).map((r) => [r.offset, `clear ${r.offset}-${r.offset + r.count}`]),
  ];
  return out.sort((a, b) => a[0] - b[0]).map((s) => s[1]).join(",");
}

export async function pageDiff(container) {
  const steps = [];
  await container.create();
  const src = container.getBlockBlobClient("src.bin");
  await src.upload("x".repeat(512) + "y".repeat(512), 1024);
  const pb = container.getPageBlobClient("disk.vhd");
  await pb.create(4096);
  await pb.uploadPages("a".repeat(1024), 0, 1024);
  const snap1 = (await pb.createSnapshot()).snapshot;

  const ys = createHash("md5").update("y".repeat(512)).digest();
  const up = await pb.uploadPagesFromURL(src.url, 512, 2048, 512, { sourceContentMD5: ys });
  check("uploadPagesFromURL", up.etag && Buffer.from(up.contentMD5).equals(ys) && up.blobSequenceNumber === 0, up);
  await expectCode("source md5", "Md5Mismatch", () => pb.uploadPagesFromURL(src.url, 0, 0, 512, { sourceContentMD5: ys }));
  await expectCode("source condition", "SourceConditionNotMet",
    () => pb.uploadPagesFromURL(src.url, 0, 0, 512, { sourceConditions: { ifMatch: '"0x1"' } }));
  const content = (await pb.downloadToBuffer()).toString();
  check("pages from URL content", content === "a".repeat(1024) + "\0".repeat(1024) + "y".repeat(512) + "\0".repeat(1536), content.length);
  steps.push("from-url");

  await pb.clearPages(0, 512);
  let got = spans(await pb.getPageRangesDiff(0, 4096, snap1));
  check("getPageRangesDiff", got === "clear 0-511,page 2048-2559", got);
  got = spans(await pb.getPageRangesDiff(256, 768, snap1));
  check("getPageRangesDiff in a range", got === "clear 256-511", got);
  const listed = [];
  for await (const r of pb.listPageRangesDiff(0, 4096, snap1)) listed.push(`${r.isClear ? "clear" : "page"} ${r.start}-${r.end}`);
  check("listPageRangesDiff", listed.sort().join(",") === "clear 0-511,page 2048-2559", listed);
  steps.push("diff");

  const snap2 = (await pb.createSnapshot()).snapshot;
  await pb.uploadPages("c".repeat(512), 3584, 512);
  got = spans(await pb.withSnapshot(snap2).getPageRangesDiff(0, 4096, snap1));
  check("diff of a snapshot", got === "clear 0-511,page 2048-2559", got);
  got = spans(await pb.getPageRangesDiff(0, 4096, snap2));
  check("diff against the second snapshot", got === "page 3584-4095", got);
  steps.push("snapshot-diff");

  await expectCode("unknown previous snapshot", "PreviousSnapshotNotFound", () => pb.getPageRangesDiff(0, 4096, "2001-01-01T00:00:00.0000000Z"));
  await expectCode("newer previous snapshot", "PreviousSnapshotCannotBeNewer", () => pb.withSnapshot(snap1).getPageRangesDiff(0, 4096, snap2));
  steps.push("diff-errors");
  return steps.join(",");
}
