// A CI job or a pod as a user would write it with the unmodified Azure SDK for JavaScript,
// configured by AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and
// AZURE_AUTHORITY_HOST. --credential workload uses WorkloadIdentityCredential with the one
// option a non-Microsoft authority needs (disableInstanceDiscovery); --credential managed
// uses ManagedIdentityCredential with no option at all, which switches to token exchange by
// itself when those variables are set. It uploads a blob, reads it back, and prints
// {"ok":true,"token":...,"data":...}; a failure goes to stderr with exit 1.
//
// Usage: node workload.mjs --credential workload|managed --account-url URL [--container C] [--blob B] [--data D]
import { ManagedIdentityCredential, WorkloadIdentityCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    credential: { type: "string", default: "workload" },
    "account-url": { type: "string" },
    container: { type: "string", default: "federated" },
    blob: { type: "string", default: "hello.txt" },
    data: { type: "string", default: "hello" },
  },
});

try {
  const credential =
    values.credential === "managed"
      ? new ManagedIdentityCredential()
      : new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
  const token = await credential.getToken("https://storage.azure.com/.default");
  const container = new BlobServiceClient(values["account-url"], credential).getContainerClient(values.container);
  await container.createIfNotExists();
  await container.getBlockBlobClient(values.blob).upload(values.data, Buffer.byteLength(values.data));
  const body = await container.getBlobClient(values.blob).downloadToBuffer();
  if (body.toString() !== values.data) {
    throw new Error("downloaded content differs from what was uploaded");
  }
  process.stdout.write(JSON.stringify({ ok: true, token: token.token, data: body.toString() }) + "\n");
} catch (err) {
  process.stderr.write(`workload: ${err.name}: ${err.message}\n`);
  process.exit(1);
}
