// A deployment as a user would write it with the unmodified Azure SDK for JavaScript
// (@azure/arm-servicebus): with its app's managed identity, it creates a Service Bus
// namespace and a queue, reads them back, lists, and deletes them. It prints one JSON
// object with what it saw; the calling test checks it.
//
// Usage: node servicebusarm.mjs --endpoint URL --subscription ID --group RG --namespace NS
import { ManagedIdentityCredential } from "@azure/identity";
import { ServiceBusManagementClient } from "@azure/arm-servicebus";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string" },
    subscription: { type: "string" },
    group: { type: "string" },
    namespace: { type: "string" },
  },
});

const g = values.group;
const ns = values.namespace;
try {
  const client = new ServiceBusManagementClient(new ManagedIdentityCredential(), values.subscription, {
    endpoint: values.endpoint,
    credentialScopes: ["https://management.azure.com/.default"],
  });
  const out = {};
  const created = await client.namespaces.beginCreateOrUpdateAndWait(g, ns, {
    location: "local",
    sku: { name: "Standard", tier: "Standard" },
  });
  out.namespace = {
    name: created.name,
    provisioningState: created.provisioningState,
    sku: created.sku?.name,
    endpoint: created.serviceBusEndpoint,
  };
  out.available = (await client.namespaces.checkNameAvailability({ name: ns })).nameAvailable;
  const q = await client.queues.createOrUpdate(g, ns, "orders", {
    lockDuration: "PT30S",
    maxDeliveryCount: 5,
    defaultMessageTimeToLive: "P14D",
    requiresSession: true,
    deadLetteringOnMessageExpiration: true,
  });
  out.queue = {
    name: q.name,
    lockDuration: q.lockDuration,
    maxDeliveryCount: q.maxDeliveryCount,
    defaultMessageTimeToLive: q.defaultMessageTimeToLive,
    requiresSession: q.requiresSession,
    deadLettering: q.deadLetteringOnMessageExpiration,
    active: q.countDetails?.activeMessageCount,
    createdAt: q.createdAt instanceof Date,
  };
  const d = await client.queues.createOrUpdate(g, ns, "defaults", {});
  out.defaults = { lockDuration: d.lockDuration, maxDeliveryCount: d.maxDeliveryCount, ttl: d.defaultMessageTimeToLive };
  const got = await client.queues.get(g, ns, "ORDERS");
  out.got = got.name;
  out.queues = [];
  for await (const item of client.queues.listByNamespace(g, ns)) out.queues.push(item.name);
  await client.topics.createOrUpdate(g, ns, "events", {});
  await client.subscriptions.createOrUpdate(g, ns, "events", "audit", { maxDeliveryCount: 3 });
  out.rules = [];
  for await (const r of client.rules.listBySubscriptions(g, ns, "events", "audit")) out.rules.push(r.name);
  await client.rules.createOrUpdate(g, ns, "events", "audit", "vip", {
    filterType: "SqlFilter",
    sqlFilter: { sqlExpression: "tier = 'gold'" },
  });
  const rule = await client.rules.get(g, ns, "events", "audit", "vip");
  out.rule = rule.sqlFilter?.sqlExpression;
  try {
    await client.queues.createOrUpdate(g, ns, "orders", { lockDuration: "PT10M" });
    out.invalid = "accepted";
  } catch (err) {
    out.invalid = `${err.statusCode} ${err.code}`;
  }
  await client.queues.delete(g, ns, "orders");
  try {
    await client.queues.get(g, ns, "orders");
    out.afterDelete = "found";
  } catch (err) {
    out.afterDelete = `${err.statusCode}`;
  }
  await client.namespaces.beginDeleteAndWait(g, ns);
  out.namespaces = [];
  for await (const n of client.namespaces.listByResourceGroup(g)) out.namespaces.push(n.name);
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (err) {
  process.stderr.write(`servicebusarm: ${err.name}: ${err.statusCode ?? ""} ${err.code ?? ""} ${err.message}\n`);
  process.exit(1);
}
