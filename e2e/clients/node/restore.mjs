// Container soft delete through the unmodified @azure/storage-blob, on an account whose
// container delete retention is on: ContainerClient.delete keeps the container,
// listContainers({ includeDeleted }) shows it, a container of the same name can be
// created meanwhile, undeleteContainer refuses while it exists and afterwards brings the
// deleted one back with its blob. Used by blob.mjs --op restore-container; returns the
// steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function restoreContainer(service, container) {
  const steps = [];
  await container.create();
  const text = "kept through the deletion";
  await container.getBlockBlobClient("kept.txt").upload(text, text.length);
  await container.delete();
  await expectCode("read after delete", "ContainerNotFound", () => container.getBlobClient("kept.txt").getProperties());
  steps.push("delete");

  let version;
  for await (const item of service.listContainers({ prefix: container.containerName, includeDeleted: true, includeMetadata: true })) {
    if (item.name === container.containerName && item.deleted) {
      check("deleted item", item.version && item.properties.deletedOn instanceof Date && item.properties.remainingRetentionDays >= 1, item);
      version = item.version;
    }
  }
  check("listed", version, null);
  steps.push("list");

  await container.create();
  await expectCode("restore over a live container", "ContainerAlreadyExists", () => service.undeleteContainer(container.containerName, version));
  await container.delete();
  steps.push("conflict");

  const { containerClient } = await service.undeleteContainer(container.containerName, version);
  const body = (await containerClient.getBlobClient("kept.txt").downloadToBuffer()).toString();
  check("restored blob", body === text, body);
  steps.push("restore");
  return steps.join(",");
}
