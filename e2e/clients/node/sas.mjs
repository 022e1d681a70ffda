// User delegation SAS with the JavaScript SDK: an app with a managed identity gets a user
// delegation key and signs a SAS for one blob; a process with no credential downloads
// with it.
import { BlobClient, BlobSASPermissions, generateBlobSASQueryParameters, SASProtocol } from "@azure/storage-blob";

export async function makeSAS(service, accountUrl, containerName, blobName, permissions) {
  const now = Date.now();
  const startsOn = new Date(now - 60_000);
  const expiresOn = new Date(now + 30 * 60_000);
  const key = await service.getUserDelegationKey(startsOn, new Date(now + 60 * 60_000));
  // Path-style URL: the account is the first path segment.
  const accountName = new URL(accountUrl).pathname.split("/")[1];
  const sas = generateBlobSASQueryParameters(
    { containerName, blobName, permissions: BlobSASPermissions.parse(permissions), startsOn, expiresOn, protocol: SASProtocol.Https },
    key,
    accountName,
  ).toString();
  return `${accountUrl.replace(/\/$/, "")}/${containerName}/${blobName}?${sas}`;
}

export async function sasGet(url) {
  const body = await new BlobClient(url).downloadToBuffer();
  return body.toString();
}
