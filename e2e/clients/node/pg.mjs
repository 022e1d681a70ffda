// An app as a user would write it for Azure Database for PostgreSQL with Microsoft Entra
// authentication, with the unmodified `pg` driver and Azure SDK for JavaScript: the password
// is a ManagedIdentityCredential token for https://ossrdbms-aad.database.windows.net, and
// TLS is verified against the server's CA. It runs each --sql statement in order and prints
// one JSON result per statement ({ok, code, message, rows}), a login failure as one result.
//
// Usage: node pg.mjs --host H --port P --user ROLE [--database D] [--client-id ID] --ca FILE --sql S...
import { ManagedIdentityCredential } from "@azure/identity";
import pg from "pg";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    user: { type: "string" },
    database: { type: "string", default: "postgres" },
    "client-id": { type: "string" },
    ca: { type: "string" },
    sql: { type: "string", multiple: true, default: [] },
  },
});

const emit = (r) => process.stdout.write(JSON.stringify(r) + "\n");
const failure = (err) => ({ ok: false, code: err.code, message: err.message });

const credential = new ManagedIdentityCredential(values["client-id"] ? { clientId: values["client-id"] } : {});
const token = await credential.getToken("https://ossrdbms-aad.database.windows.net/.default");
const client = new pg.Client({
  host: values.host,
  port: Number(values.port),
  user: values.user,
  database: values.database,
  password: token.token,
  ssl: { ca: readFileSync(values.ca, "utf8"), rejectUnauthorized: true },
});
try {
  await client.connect();
} catch (err) {
  emit(failure(err));
  process.exit(1);
}
for (const sql of values.sql) {
  try {
    const res = await client.query({ text: sql, rowMode: "array" });
    emit({ ok: true, rows: res.rows.map((r) => r.map(String)) });
  } catch (err) {
    emit(failure(err));
  }
}
await client.end();
