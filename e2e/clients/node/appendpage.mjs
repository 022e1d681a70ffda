// The append and page blob calls of the unmodified @azure/storage-blob, checked against
// what Azure answers. Used by blob.mjs --op appendpage; returns the steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function appendPage(container) {
  const steps = [];
  await container.create();

  const ab = container.getAppendBlobClient("log.txt");
  await ab.create({ blobHTTPHeaders: { blobContentType: "text/plain" } });
  const r1 = await ab.appendBlock("first ", 6);
  const r2 = await ab.appendBlock("second", 6, { conditions: { appendPosition: 6, maxSize: 12 } });
  check("append", r1.blobAppendOffset === "0" && r2.blobAppendOffset === "6" && r2.blobCommittedBlockCount === 2 && r2.etag, [r1.blobAppendOffset, r2.blobAppendOffset, r2.blobCommittedBlockCount]);
  await expectCode("appendpos", "AppendPositionConditionNotMet", () => ab.appendBlock("x", 1, { conditions: { appendPosition: 3 } }));
  await expectCode("maxsize", "MaxBlobSizeConditionNotMet", () => ab.appendBlock("x", 1, { conditions: { maxSize: 12 } }));
  const props = await ab.getProperties();
  check("append properties", props.blobType === "AppendBlob" && props.blobCommittedBlockCount === 2 && props.contentLength === 12 && props.contentType === "text/plain", props);
  const text = (await ab.downloadToBuffer()).toString();
  check("append download", text === "first second", text);
  steps.push("append");

  await ab.seal({ conditions: { appendPosition: 12 } });
  await expectCode("append to sealed", "BlobIsSealed", () => ab.appendBlock("x", 1));
  check("sealed", (await ab.getProperties()).isSealed === true, "not sealed");
  steps.push("seal");

  await container.getBlockBlobClient("block.txt").upload("b", 1);
  await expectCode("append to a block blob", "InvalidBlobType", () => container.getAppendBlobClient("block.txt").appendBlock("x", 1));
  await expectCode("stage on an append blob", "InvalidBlobType", () => container.getBlockBlobClient("log.txt").stageBlock("QUFB", "x", 1));
  await expectCode("put page on a block blob", "InvalidBlobType", () => container.getPageBlobClient("block.txt").uploadPages("p".repeat(512), 0, 512));
  steps.push("types");

  const pb = container.getPageBlobClient("disk.vhd");
  await expectCode("unaligned size", "InvalidHeaderValue", () => pb.create(1000));
  await pb.create(2 ** 40, { blobSequenceNumber: 5 });
  const up = await pb.uploadPages("a".repeat(1024), 512, 1024);
  check("upload pages", up.blobSequenceNumber === 5 && up.etag, up);
  await pb.uploadPages("b".repeat(512), 2 ** 39, 512);
  await expectCode("unaligned pages", "InvalidPageRange", () => pb.uploadPages("c".repeat(512), 1, 512));
  await expectCode("sequence condition", "SequenceNumberConditionNotMet",
    () => pb.uploadPages("c".repeat(512), 0, 512, { conditions: { ifSequenceNumberLessThan: 5 } }));
  const head = await pb.downloadToBuffer(0, 2048);
  check("page download", head.toString() === "\0".repeat(512) + "a".repeat(1024) + "\0".repeat(512), head.subarray(0, 16).toString("hex"));
  await pb.clearPages(512, 512);
  const ranges = [];
  for await (const r of pb.listPageRanges()) ranges.push(`${r.start}-${r.end}`);
  check("page ranges", ranges.join(",") === `1024-1535,${2 ** 39}-${2 ** 39 + 511}`, ranges);
  const old = await pb.getPageRanges(0, 2048);
  check("getPageRanges", old.pageRange.length === 1 && old.pageRange[0].offset === 1024, old.pageRange);
  steps.push("pages");

  await pb.resize(2048);
  const inc = await pb.updateSequenceNumber("increment");
  check("increment", inc.blobSequenceNumber === 6, inc.blobSequenceNumber);
  const mx = await pb.updateSequenceNumber("max", 3);
  check("max", mx.blobSequenceNumber === 6, mx.blobSequenceNumber);
  await pb.updateSequenceNumber("update", 42);
  const pp = await pb.getProperties();
  check("page properties", pp.blobType === "PageBlob" && pp.contentLength === 2048 && pp.blobSequenceNumber === 42, pp);
  steps.push("resize");

  const types = {};
  for await (const b of container.listBlobsFlat()) types[b.name] = b.properties.blobType;
  check("listing", types["log.txt"] === "AppendBlob" && types["disk.vhd"] === "PageBlob" && types["block.txt"] === "BlockBlob", types);
  steps.push("listing");
  return steps.join(",");
}
