// The access tier calls of the unmodified @azure/storage-blob, checked against what Azure
// answers. Used by blob.mjs --op tiers; returns the steps that passed. The rehydration
// completes after the server's rehydrate delay, which this waits for.
import { expectCode, check } from "./expect.mjs";

export async function tiers(container) {
  const steps = [];
  await container.create();
  const cool = container.getBlockBlobClient("cool.txt");
  await cool.uploadData(Buffer.from("cool"), { tier: "Cool" });
  let p = await cool.getProperties();
  check("upload with tier", p.accessTier === "Cool" && !p.accessTierInferred && p.accessTierChangedOn instanceof Date, p);
  const cold = container.getBlockBlobClient("cold.txt");
  const id = Buffer.from("block-0").toString("base64");
  await cold.stageBlock(id, Buffer.from("cold"), 4);
  await cold.commitBlockList([id], { tier: "Cold" });
  p = await cold.getProperties();
  check("commit with tier", p.accessTier === "Cold", p.accessTier);
  steps.push("upload");

  const hot = container.getBlockBlobClient("hot.txt");
  const up = await hot.upload("hot", 3);
  p = await hot.getProperties();
  check("inferred", p.accessTier === "Hot" && p.accessTierInferred === true, p);
  await hot.setAccessTier("Archive");
  p = await hot.getProperties();
  check("archived", p.accessTier === "Archive" && p.etag === up.etag, p);
  await expectCode("download archived", "BlobArchived", () => hot.downloadToBuffer());
  steps.push("archive");

  const res = await hot.setAccessTier("Cool", { rehydratePriority: "High" });
  check("rehydrate answer", res._response.status === 202, res._response.status);
  p = await hot.getProperties();
  check("rehydrating", p.archiveStatus === "rehydrate-pending-to-cool" && p.rehydratePriority === "High", p);
  await expectCode("hot while rehydrating", "BlobBeingRehydrated", () => hot.setAccessTier("Hot"));
  for await (const item of container.listBlobsFlat({ prefix: "hot" })) {
    check("listing", item.properties.archiveStatus === "rehydrate-pending-to-cool" && item.properties.accessTier === "Archive", item.properties);
  }
  steps.push("rehydrating");
  for (;;) {
    p = await hot.getProperties();
    if (p.accessTier === "Cool") break;
    await new Promise((r) => setTimeout(r, 200));
  }
  check("rehydrated", p.archiveStatus === undefined, p);
  const body = await hot.downloadToBuffer();
  check("download rehydrated", body.toString() === "hot", body.toString());
  steps.push("rehydrated");

  // A copy takes a tier; an archived blob is copied to an online tier only, which the
  // copy then rehydrates to.
  const coldCopy = container.getBlockBlobClient("copy-cold.txt");
  await (await coldCopy.beginCopyFromURL(cool.url, { tier: "Cold" })).pollUntilDone();
  p = await coldCopy.getProperties();
  check("copy with tier", p.accessTier === "Cold", p.accessTier);
  await cool.setAccessTier("Archive");
  const back = container.getBlockBlobClient("copy-rehydrated.txt");
  await expectCode("copy archived without a tier", "BlobArchived", () => back.beginCopyFromURL(cool.url));
  await back.beginCopyFromURL(cool.url, { tier: "Hot" });
  p = await back.getProperties();
  check("rehydrating copy", p.accessTier === "Archive" && p.archiveStatus === "rehydrate-pending-to-hot", p);
  steps.push("copytier");
  return steps.join(",");
}
