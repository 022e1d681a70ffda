// Loaded by mocha (--require) before Azurite's blob tests when scripts/peer-blob.sh runs them
// against Lanyard. The tests build their clients with `new StorageSharedKeyCredential(name,
// key)`; Lanyard refuses shared keys, so this hands them, under that name, a TokenCredential
// that asks Lanyard's managed-identity endpoint (the environment `lanyard app run` sets) for a
// bearer token. Everything else of @azure/storage-blob is the SDK's own. SAS generation
// still needs the SDK's real StorageSharedKeyCredential, so those tests fail and are counted
// as excluded (shared key or account/service SAS).
"use strict";
const Module = require("module");
const fromCwd = (name) => require(require.resolve(name, { paths: [process.cwd()] }));
const { ManagedIdentityCredential } = fromCwd("@azure/identity");

const identity = new ManagedIdentityCredential();

class BearerInPlaceOfSharedKey {
  constructor(accountName) {
    this.accountName = accountName; // some tests read it back
  }
  getToken(scopes, options) {
    return identity.getToken(scopes, options);
  }
}

let wrapped;
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exports = load.apply(this, arguments);
  if (request !== "@azure/storage-blob") return exports;
  if (!wrapped) {
    wrapped = {};
    for (const key of Object.keys(exports)) {
      if (key === "StorageSharedKeyCredential") continue;
      Object.defineProperty(wrapped, key, { enumerable: true, get: () => exports[key] });
    }
    Object.defineProperty(wrapped, "StorageSharedKeyCredential", { enumerable: true, value: BearerInPlaceOfSharedKey });
    Object.defineProperty(wrapped, "__esModule", { value: true });
  }
  return wrapped;
};
