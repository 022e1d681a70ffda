// A Service Bus app as a user would write it, with the unmodified @azure/service-bus and
// a ManagedIdentityCredential, pointed at a Lanyard namespace: its fully qualified
// namespace is the host:port of the namespace's endpoint, and Lanyard's CA is trusted
// through NODE_EXTRA_CA_CERTS (lanyard app run sets it). One operation per run, one JSON
// line out: the result, or {"error":{"code":...}} with the SDK's ServiceBusError code.
//
// Usage: node servicebus.mjs --ns localhost:PORT --queue Q --op OP [--n N] [--settle S] [--body B] [--dlq]
//        [--in SECONDS] [--seqs 1,2] [--sub S] [--props JSON] [--rule NAME --sql EXPR --action EXPR]
//   ops: send, send-batch, receive (PeekLock, then --settle complete|abandon|deadletter|defer|none),
//        receive-delete, peek, renew, schedule (--n messages --in seconds from now), cancel (--seqs),
//        receive-deferred (--seqs, PeekLock, then --settle),
//        publish (one message per entry of --props, a JSON array of application properties, in a batch),
//        add-rule (--rule with a --sql filter, or a correlation filter on --correlation-id, and --action),
//        remove-rule (--rule), list-rules: the rule manager (createRuleManager) of subscription --sub
//   With --sub, receivers read subscription S of the topic --queue.
//        session-send (--n messages to each session of --sessions a,b,..., interleaved; bodies SESSION-i),
//        session-receive (acceptSession --session, or acceptNextSession within --wait, of the queue or
//        of subscription --sub of the topic --queue; receive up to
//        --n and complete them; getSessionState, then setSessionState --state if given; renewSessionLock)
import { ManagedIdentityCredential } from "@azure/identity";
import { ServiceBusClient } from "@azure/service-bus";
import { parseArgs } from "node:util";
import Long from "long";

const { values } = parseArgs({
  options: {
    ns: { type: "string" },
    queue: { type: "string" },
    op: { type: "string" },
    n: { type: "string", default: "1" },
    settle: { type: "string", default: "complete" },
    body: { type: "string", default: "m" },
    dlq: { type: "boolean", default: false },
    in: { type: "string", default: "3600" },
    seqs: { type: "string", default: "" },
    session: { type: "string" },
    sessions: { type: "string", default: "" },
    state: { type: "string" },
    wait: { type: "string", default: "3s" },
    "client-id": { type: "string" },
    sub: { type: "string" },
    props: { type: "string", default: "[]" },
    rule: { type: "string" },
    sql: { type: "string" },
    action: { type: "string" },
    "correlation-id": { type: "string" },
  },
});
const n = Number(values.n);
const emit = (r) => process.stdout.write(JSON.stringify(r) + "\n");
const describe = (msgs) =>
  msgs.map((m) => ({
    body: String(m.body),
    deliveryCount: m.deliveryCount,
    sequenceNumber: Number(m.sequenceNumber),
    deadLetterReason: m.deadLetterReason,
    deadLetterSource: m.deadLetterSource,
    locked: m.lockedUntilUtc !== undefined && m.lockedUntilUtc > new Date(),
    state: m.state,
    properties: m.applicationProperties,
  }));
const seqs = () => values.seqs.split(",").filter((v) => v !== "").map((v) => Long.fromString(v));
const settle = async (receiver, msgs) => {
  for (const m of msgs) {
    if (values.settle === "complete") await receiver.completeMessage(m);
    if (values.settle === "abandon") await receiver.abandonMessage(m);
    if (values.settle === "deadletter") await receiver.deadLetterMessage(m, { deadLetterReason: "Poison", deadLetterErrorDescription: "cannot parse" });
    if (values.settle === "defer") await receiver.deferMessage(m);
  }
};

const credential = new ManagedIdentityCredential(values["client-id"] ? { clientId: values["client-id"] } : {});
// --wait ("2s", "1.5s") bounds how long session-receive waits for a session and for messages.
const waitMs = Number.parseFloat(values.wait) * 1000;
const retryOptions = values.op === "session-receive" && values.session === undefined
  ? { maxRetries: 0, timeoutInMs: waitMs } // acceptNextSession waits this long for a session
  : { maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 20000 };
const client = new ServiceBusClient(values.ns, credential, { retryOptions });
const messages = () => Array.from({ length: n }, (_, i) => ({ body: `${values.body}-${i}`, messageId: `${values.body}-${i}`, applicationProperties: { index: i } }));
const receiverOptions = (receiveMode) => ({ receiveMode, ...(values.dlq ? { subQueueType: "deadLetter" } : {}) });
const createReceiver = (options) =>
  values.sub ? client.createReceiver(values.queue, values.sub, options) : client.createReceiver(values.queue, options);

try {
  switch (values.op) {
    case "send":
    case "send-batch": {
      const sender = client.createSender(values.queue);
      if (values.op === "send-batch") {
        const batch = await sender.createMessageBatch();
        for (const m of messages()) {
          if (!batch.tryAddMessage(m)) throw new Error("the batch is full");
        }
        await sender.sendMessages(batch);
      } else {
        for (const m of messages()) await sender.sendMessages(m);
      }
      await sender.close();
      emit({ sent: n });
      break;
    }
    case "peek": {
      const receiver = createReceiver(receiverOptions("peekLock"));
      const msgs = await receiver.peekMessages(n, { fromSequenceNumber: Long.fromNumber(1) });
      emit({ peeked: describe(msgs) });
      await receiver.close();
      break;
    }
    case "receive":
    case "receive-delete":
    case "renew": {
      const mode = values.op === "receive-delete" ? "receiveAndDelete" : "peekLock";
      const receiver = createReceiver(receiverOptions(mode));
      const msgs = await receiver.receiveMessages(values.op === "renew" ? 1 : n, { maxWaitTimeInMs: 3000 });
      const out = { received: describe(msgs) };
      if (values.op === "renew" && msgs.length === 1) {
        const before = msgs[0].lockedUntilUtc;
        await new Promise((r) => setTimeout(r, 1100));
        const after = await receiver.renewMessageLock(msgs[0]);
        out.renewedLater = after > before;
        await receiver.completeMessage(msgs[0]);
      }
      if (values.op === "receive") {
        await settle(receiver, msgs);
        out.settled = values.settle;
      }
      await receiver.close();
      emit(out);
      break;
    }
    case "schedule":
    case "cancel": {
      const sender = client.createSender(values.queue);
      if (values.op === "cancel") {
        await sender.cancelScheduledMessages(seqs());
        emit({ cancelled: seqs().length });
      } else {
        const at = new Date(Date.now() + Number(values.in) * 1000);
        const numbers = await sender.scheduleMessages(messages(), at);
        emit({ scheduled: numbers.map((v) => Number(v)) });
      }
      await sender.close();
      break;
    }
    case "receive-deferred": {
      const receiver = createReceiver(receiverOptions("peekLock"));
      const msgs = await receiver.receiveDeferredMessages(seqs());
      const out = { received: describe(msgs) };
      await settle(receiver, msgs);
      out.settled = values.settle;
      await receiver.close();
      emit(out);
      break;
    }
    case "publish": {
      const sender = client.createSender(values.queue);
      const batch = await sender.createMessageBatch();
      const props = JSON.parse(values.props);
      props.forEach((p, i) => {
        const { $subject, $correlationId, ...applicationProperties } = p;
        const m = { body: `${values.body}-${i}`, messageId: `${values.body}-${i}`, subject: $subject, correlationId: $correlationId, applicationProperties };
        if (!batch.tryAddMessage(m)) throw new Error("the batch is full");
      });
      await sender.sendMessages(batch);
      await sender.close();
      emit({ sent: props.length });
      break;
    }
    case "add-rule":
    case "remove-rule":
    case "list-rules": {
      const rules = client.createRuleManager(values.queue, values.sub);
      if (values.op === "add-rule") {
        const filter = values.sql !== undefined ? { sqlExpression: values.sql } : { correlationId: values["correlation-id"] };
        if (values.action !== undefined) await rules.createRule(values.rule, filter, { sqlExpression: values.action });
        else await rules.createRule(values.rule, filter);
        emit({ added: values.rule });
      } else if (values.op === "remove-rule") {
        await rules.deleteRule(values.rule);
        emit({ removed: values.rule });
      } else {
        const out = [];
        for await (const r of rules.listRules()) out.push({ name: r.name, filter: r.filter, action: r.action?.sqlExpression });
        emit({ rules: out });
      }
      break; // the rule manager closes with the client
    }
    case "session-send": {
      const sender = client.createSender(values.queue);
      let sent = 0;
      for (let i = 0; i < n; i++) {
        for (const sessionId of values.sessions.split(",")) {
          await sender.sendMessages({ body: `${sessionId}-${i}`, sessionId });
          sent++;
        }
      }
      await sender.close();
      emit({ sent });
      break;
    }
    case "session-receive": {
      const options = { maxAutoLockRenewalDurationInMs: 0 };
      // With --sub: a session-enabled subscription of the topic --queue.
      const entity = values.sub ? [values.queue, values.sub] : [values.queue];
      const receiver = values.session !== undefined
        ? await client.acceptSession(...entity, values.session, options)
        : await client.acceptNextSession(...entity, options);
      const msgs = [];
      const deadline = Date.now() + waitMs;
      while (msgs.length < n && Date.now() < deadline) {
        const got = await receiver.receiveMessages(n - msgs.length, { maxWaitTimeInMs: Math.max(deadline - Date.now(), 1) });
        for (const m of got) await receiver.completeMessage(m);
        msgs.push(...got);
      }
      const state = await receiver.getSessionState();
      if (values.state !== undefined) await receiver.setSessionState(values.state);
      await receiver.renewSessionLock();
      emit({ session: receiver.sessionId, sessionState: state === undefined || state === null ? "" : String(state), received: describe(msgs) });
      await receiver.close();
      break;
    }
    default:
      throw new Error(`unknown op ${values.op}`);
  }
} catch (err) {
  const cause = err.name === "AggregateError" && err.errors?.length ? err.errors.at(-1) : err;
  emit({ error: { code: cause.code ?? cause.name, message: cause.message, wrapped: cause === err ? undefined : err.errors.map((e) => e.code ?? e.name) } });
} finally {
  await client.close();
}
