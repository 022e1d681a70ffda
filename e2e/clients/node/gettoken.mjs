// An app as a user would write it with the unmodified Azure SDK for JavaScript: it asks
// ManagedIdentityCredential for a token and prints the token with its expiry as JSON.
// The calling test verifies the signature. One scenario per process: msal-node caches the
// managed-identity source in a static.
//
// Usage: node gettoken.mjs [--resource R] [--client-id ID | --resource-id ID | --object-id ID]
import { ManagedIdentityCredential } from "@azure/identity";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    resource: { type: "string", default: "https://storage.azure.com" },
    "client-id": { type: "string" },
    "resource-id": { type: "string" },
    "object-id": { type: "string" },
  },
});

let options = {};
if (values["client-id"]) options = { clientId: values["client-id"] };
if (values["resource-id"]) options = { resourceId: values["resource-id"] };
if (values["object-id"]) options = { objectId: values["object-id"] };

try {
  const credential = new ManagedIdentityCredential(options);
  const scope = values.resource.replace(/\/$/, "") + "/.default";
  const token = await credential.getToken(scope);
  process.stdout.write(JSON.stringify({ token: token.token, expiresOn: Math.floor(token.expiresOnTimestamp / 1000) }) + "\n");
} catch (err) {
  process.stderr.write(`gettoken: ${err.name}: ${err.message}\n`);
  process.exit(1);
}
