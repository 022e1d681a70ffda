// Blob index tags through the unmodified @azure/storage-blob: tags on upload, setTags and
// getTags, tag conditions (tagConditions), findBlobsByTags at the service and the
// container, paged. Used by blob.mjs --op tags; returns the steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function blobTags(service, container) {
  const steps = [];
  await container.create();
  for (let i = 0; i < 5; i++) {
    await container.getBlockBlobClient(`j${i}`).upload("x", 1, { tags: { team: `t${i % 2}`, rank: `${i}` } });
  }
  steps.push("upload");

  const b0 = container.getBlobClient("j0");
  const got = await b0.getTags();
  check("getTags", got.tags.team === "t0" && got.tags.rank === "0" && Object.keys(got.tags).length === 2, got.tags);
  const before = await b0.getProperties();
  check("tagCount", before.tagCount === 2, before.tagCount);
  await b0.setTags({ team: "t7", "Stage name": "a/b:c" });
  const after = await b0.getProperties();
  check("setTags keeps the ETag", after.etag === before.etag && after.tagCount === 2, [before.etag, after.etag]);
  check("setTags", (await b0.getTags()).tags["Stage name"] === "a/b:c", null);
  steps.push("tags");

  await expectCode("setTags with a false condition", "ConditionNotMet", () =>
    b0.setTags({ team: "t0" }, { conditions: { tagConditions: `team = 't0'` } }));
  await b0.setTags({ team: "t0", rank: "0" }, { conditions: { tagConditions: `"team" = 't7' AND "Stage name" = 'a/b:c'` } });
  await expectCode("download with a false condition", "ConditionNotMet", () =>
    container.getBlobClient("j1").download(0, undefined, { conditions: { tagConditions: `team = 't0'` } }));
  const dl = await container.getBlobClient("j1").download(0, undefined, { conditions: { tagConditions: `team = 't1' OR rank > '9'` } });
  check("download with a true condition", dl.contentLength === 1, dl.contentLength);
  await expectCode("getTags with a false condition", "ConditionNotMet", () =>
    container.getBlobClient("j1").getTags({ conditions: { tagConditions: `rank <> '1'` } }));
  steps.push("conditions");

  const found = [];
  for await (const page of service.findBlobsByTags(`@container = '${container.containerName}' AND team = 't0'`).byPage({ maxPageSize: 2 })) {
    for (const b of page.blobs) {
      check("found item", b.containerName === container.containerName && b.tags?.team === "t0", b);
      found.push(b.name);
    }
  }
  check("service findBlobsByTags", JSON.stringify(found) === JSON.stringify(["j0", "j2", "j4"]), found);
  const inContainer = [];
  for await (const b of container.findBlobsByTags(`rank >= '1' AND rank <= '3'`)) {
    inContainer.push(b.name);
  }
  check("container findBlobsByTags", JSON.stringify(inContainer) === JSON.stringify(["j1", "j2", "j3"]), inContainer);
  steps.push("find");

  let listed = 0;
  for await (const item of container.listBlobsFlat({ includeTags: true })) {
    check("listing tags", item.tags && Object.keys(item.tags).length > 0, item);
    listed++;
  }
  check("listing", listed === 5, listed);
  steps.push("listing");
  return steps.join(",");
}
