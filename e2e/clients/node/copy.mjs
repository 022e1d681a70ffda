// Copies the blob at sourceUrl (possibly in another account) into container with each
// copy call of @azure/storage-blob: beginCopyFromURL (its poller), syncCopyFromURL,
// syncUploadFromURL, stageBlockFromURL with two ranges, and abortCopyFromURL of the
// finished copy. Every copy must read back as the source; returns the content. The
// first call's error is thrown as is, so that a refusal reaches the caller with its code.
export async function copyBlob(container, name, sourceUrl) {
  const dst = container.getBlockBlobClient(name);
  const poller = await dst.beginCopyFromURL(sourceUrl, { metadata: { copied: "yes" } });
  const started = await poller.pollUntilDone();
  if (started.copyStatus !== "success" || !started.copyId) {
    throw new Error(`beginCopyFromURL: ${JSON.stringify(started)}`);
  }
  const want = (await dst.downloadToBuffer()).toString();
  const props = await dst.getProperties();
  if (props.copyId !== started.copyId || props.copyStatus !== "success" || !props.copySource || props.metadata?.copied !== "yes") {
    throw new Error(`copy properties: ${JSON.stringify(props)}`);
  }
  try {
    await dst.abortCopyFromURL(started.copyId);
    throw new Error("abortCopyFromURL of a finished copy succeeded");
  } catch (err) {
    if ((err.code ?? err.details?.errorCode) !== "NoPendingCopyOperation") throw err;
  }
  const syncDst = container.getBlockBlobClient(`${name}-sync`);
  const synced = await syncDst.syncCopyFromURL(sourceUrl);
  if (synced.copyStatus !== "success") throw new Error(`syncCopyFromURL: ${JSON.stringify(synced)}`);
  const putDst = container.getBlockBlobClient(`${name}-put`);
  await putDst.syncUploadFromURL(sourceUrl);
  const blocksDst = container.getBlockBlobClient(`${name}-blocks`);
  const half = Math.floor(Buffer.byteLength(want) / 2);
  const ids = [Buffer.from("block-00").toString("base64"), Buffer.from("block-01").toString("base64")];
  await blocksDst.stageBlockFromURL(ids[0], sourceUrl, 0, half);
  await blocksDst.stageBlockFromURL(ids[1], sourceUrl, half);
  await blocksDst.commitBlockList(ids);
  for (const c of [syncDst, putDst, blocksDst]) {
    const got = (await c.downloadToBuffer()).toString();
    if (got !== want) throw new Error(`${c.url}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  return want;
}
