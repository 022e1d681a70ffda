// The lease calls of the unmodified @azure/storage-blob (BlobLeaseClient), checked against
// what Azure answers. Used by blob.mjs --op leases; returns the steps that passed.
import { expectCode, check } from "./expect.mjs";

export async function leases(container) {
  const steps = [];
  await container.create();
  const blob = container.getBlockBlobClient("leased.txt");
  await blob.upload("v1", 2);

  const idA = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const idB = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  const lease = blob.getBlobLeaseClient(idA);
  const acq = await lease.acquireLease(15);
  check("acquire", acq.leaseId?.toLowerCase() === idA, acq.leaseId);
  const props = await blob.getProperties();
  check("properties", props.leaseState === "leased" && props.leaseStatus === "locked" && props.leaseDuration === "fixed", props);
  await expectCode("second acquire", "LeaseAlreadyPresent", () => blob.getBlobLeaseClient(idB).acquireLease(15));
  await expectCode("upload without the lease", "LeaseIdMissing", () => blob.upload("v2", 2));
  await blob.upload("v2", 2, { conditions: { leaseId: idA } });
  await lease.renewLease();
  await lease.changeLease(idB);
  check("change", lease.leaseId === idB, lease.leaseId);
  const brk = await lease.breakLease(0);
  check("break", brk.leaseTime === 0, brk.leaseTime);
  await expectCode("renew broken", "LeaseIsBrokenAndCannotBeRenewed", () => lease.renewLease());
  await lease.releaseLease();
  await expectCode("release again", "LeaseNotPresentWithLeaseOperation", () => lease.releaseLease());
  await blob.getBlobLeaseClient().acquireLease(-1);
  for await (const item of container.listBlobsFlat()) {
    check("listing", item.properties.leaseState === "leased" && item.properties.leaseDuration === "infinite", item.properties);
  }
  await expectCode("delete without the lease", "LeaseIdMissing", () => blob.delete());
  steps.push("blob");

  const cl = container.getBlobLeaseClient();
  await cl.acquireLease(30);
  await expectCode("delete leased container", "LeaseIdMissing", () => container.delete());
  const cprops = await container.getProperties();
  check("container properties", cprops.leaseState === "leased", cprops.leaseState);
  await cl.releaseLease();
  steps.push("container");

  const info = await container.getAccountInfo();
  check("account info", info.accountKind === "StorageV2" && info.skuName === "Standard_RAGRS" && info.isHierarchicalNamespaceEnabled === false, info);
  steps.push("account");
  return steps.join(",");
}
