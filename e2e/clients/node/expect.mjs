// Checks the blob scenarios share: an Azure error code expected of a call, and a condition
// with what was seen when it fails.

export function codeOf(err) {
  return err?.details?.errorCode ?? err?.code;
}

export async function expectCode(what, code, fn) {
  try {
    await fn();
  } catch (err) {
    if (codeOf(err) === code) return;
    throw new Error(`${what}: got ${codeOf(err)} (${err.statusCode}), want ${code}`);
  }
  throw new Error(`${what}: succeeded, want ${code}`);
}

export function check(what, cond, detail) {
  if (!cond) throw new Error(`${what}: ${JSON.stringify(detail)}`);
}
