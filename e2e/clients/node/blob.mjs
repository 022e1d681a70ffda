// An app as a user would write it with the unmodified Azure SDK for JavaScript:
// BlobServiceClient(accountUrl, new ManagedIdentityCredential(...)). One operation per run;
// prints {"ok":true,...} or {"ok":false,"status":..,"code":..} for a service error.
//
// Usage: node blob.mjs --account-url URL [--client-id ID] --op put|get|create-container|appendpage|pagediff|tags|leases|tiers|snapshots|versions|restore-container|make-sas|acl-cors|copy [--container C] [--blob B] [--data D] [--perms P] [--source-url U]
//        node blob.mjs --op sas-get --sas-url URL (no credential)
import { ManagedIdentityCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { parseArgs } from "node:util";
import { appendPage } from "./appendpage.mjs";
import { pageDiff } from "./pagediff.mjs";
import { blobTags } from "./blobtags.mjs";
import { leases } from "./lease.mjs";
import { tiers } from "./tier.mjs";
import { snapshots } from "./snapshot.mjs";
import { restoreContainer } from "./restore.mjs";
import { versions } from "./versions.mjs";
import { makeSAS, sasGet } from "./sas.mjs";
import { aclCors } from "./aclcors.mjs";
import { copyBlob } from "./copy.mjs";

const { values } = parseArgs({
  options: {
    "account-url": { type: "string" },
    "client-id": { type: "string" },
    op: { type: "string", default: "put" },
    container: { type: "string", default: "data" },
    blob: { type: "string", default: "hello.txt" },
    data: { type: "string", default: "hello" },
    perms: { type: "string", default: "r" },
    "sas-url": { type: "string" },
    "source-url": { type: "string" },
  },
});

// sas-get runs with no credential at all: the SAS is all it has.
const service =
  values.op === "sas-get"
    ? undefined
    : new BlobServiceClient(values["account-url"], new ManagedIdentityCredential(values["client-id"] ? { clientId: values["client-id"] } : {}));
const container = service?.getContainerClient(values.container);

try {
  let result = { ok: true };
  switch (values.op) {
    case "create-container":
      await container.create();
      break;
    case "put": {
      const blob = container.getBlockBlobClient(values.blob);
      await blob.upload(values.data, Buffer.byteLength(values.data));
      break;
    }
    case "get": {
      const body = await container.getBlobClient(values.blob).downloadToBuffer();
      result.data = body.toString();
      break;
    }
    case "appendpage":
      result.data = await appendPage(container);
      break;
    case "pagediff":
      result.data = await pageDiff(container);
      break;
    case "tags":
      result.data = await blobTags(service, container);
      break;
    case "leases":
      result.data = await leases(container);
      break;
    case "tiers":
      result.data = await tiers(container);
      break;
    case "snapshots":
      result.data = await snapshots(container);
      break;
    case "restore-container":
      result.data = await restoreContainer(service, container);
      break;
    case "versions":
      result.data = await versions(container);
      break;
    case "acl-cors":
      result.data = await aclCors(service, container, values["account-url"], values.data);
      break;
    case "copy":
      result.data = await copyBlob(container, values.blob, values["source-url"]);
      break;
    case "make-sas":
      result.data = await makeSAS(service, values["account-url"], values.container, values.blob, values.perms);
      break;
    case "sas-get":
      result.data = await sasGet(values["sas-url"]);
      break;
    default:
      throw new Error(`unknown --op ${values.op}`);
  }
  process.stdout.write(JSON.stringify(result) + "\n");
} catch (err) {
  if (err.statusCode) {
    process.stdout.write(JSON.stringify({ ok: false, status: err.statusCode, code: err.code ?? err.details?.errorCode }) + "\n");
    process.exit(3);
  }
  process.stderr.write(`blob: ${err.name}: ${err.message}\n`);
  process.exit(1);
}
