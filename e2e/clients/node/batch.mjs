// An app as a user would write it with the unmodified Azure SDK for JavaScript, using
// Blob Batch: BlobBatchClient.deleteBlobs / setBlobsAccessTier with a managed identity.
// Prints {"ok":true,"results":[{"status":..,"code":..},...]} in sub-request order, or
// {"ok":false,"status":..,"code":..} when the batch itself fails.
//
// Usage: node batch.mjs --account-url URL --client-id ID --op delete|tier [--scope service|container] --blobs c/b,c/b
import { ManagedIdentityCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    "account-url": { type: "string" },
    "client-id": { type: "string" },
    op: { type: "string", default: "delete" },
    scope: { type: "string", default: "service" },
    blobs: { type: "string" },
  },
});

const credential = new ManagedIdentityCredential({ clientId: values["client-id"] });
const service = new BlobServiceClient(values["account-url"], credential);
const refs = values.blobs.split(",").map((ref) => {
  const i = ref.indexOf("/");
  return service.getContainerClient(ref.slice(0, i)).getBlobClient(ref.slice(i + 1));
});
const batch =
  values.scope === "container"
    ? service.getContainerClient(refs[0].containerName).getBlobBatchClient()
    : service.getBlobBatchClient();

try {
  const resp =
    values.op === "tier" ? await batch.setBlobsAccessTier(refs, "Cool") : await batch.deleteBlobs(refs);
  const results = resp.subResponses.map((s) => ({ status: s.status, code: s.errorCode ?? "" }));
  process.stdout.write(
    JSON.stringify({ ok: true, results, failed: resp.subResponsesFailedCount, succeeded: resp.subResponsesSucceededCount }) + "\n",
  );
} catch (err) {
  if (err.statusCode) {
    process.stdout.write(JSON.stringify({ ok: false, status: err.statusCode, code: err.code ?? err.details?.errorCode }) + "\n");
    process.exit(3);
  }
  process.stderr.write(`batch: ${err.name}: ${err.message}\n`);
  process.exit(1);
}
