// Container ACL and Blob service CORS with the JavaScript SDK: stored access policies set
// and read back, public access refused, CORS rules set and read back, and a preflight (no
// credential) answered per the rules.
export async function aclCors(service, container, accountUrl, origin) {
  const start = new Date(Math.floor(Date.now() / 1000) * 1000);
  await container.setAccessPolicy(undefined, [
    { id: "readers", accessPolicy: { startsOn: start, expiresOn: new Date(start.getTime() + 86400_000), permissions: "rl" } },
  ]);
  const got = await container.getAccessPolicy();
  if (got.signedIdentifiers.length !== 1 || got.signedIdentifiers[0].id !== "readers" ||
      got.signedIdentifiers[0].accessPolicy.startsOn.getTime() !== start.getTime()) {
    throw new Error(`getAccessPolicy: ${JSON.stringify(got.signedIdentifiers)}`);
  }
  try {
    await container.setAccessPolicy("blob");
    throw new Error("public access was accepted");
  } catch (err) {
    if (err.details?.errorCode !== "PublicAccessNotPermitted") throw err;
  }
  await service.setProperties({
    cors: [{ allowedOrigins: origin, allowedMethods: "GET,PUT", allowedHeaders: "x-ms-*", exposedHeaders: "x-ms-request-id", maxAgeInSeconds: 300 }],
  });
  const props = await service.getProperties();
  if (props.cors.length !== 1 || props.cors[0].allowedOrigins !== origin) {
    throw new Error(`getProperties cors: ${JSON.stringify(props.cors)}`);
  }
  const res = await fetch(`${accountUrl.replace(/\/$/, "")}/${container.containerName}/x.txt`, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-ms-blob-type" },
  });
  return `${res.status} ${res.headers.get("access-control-allow-origin")} ${res.headers.get("access-control-allow-methods")}`;
}
