// Drives the official TypeScript SDK against the emulator; prints one line per call:
// "ok <name> <summary>" or "FAIL <name> <error>". Usage: node check.mjs <baseURL> <secretKey>
import { auth, configure, runs, tasks, batch, idempotencyKeys, wait, webhooks } from "@trigger.dev/sdk";
import { readFileSync } from "node:fs";

// alertsFile: JSON [{type, body, signature, secret}] of alerts the emulator signed.
const [baseURL, secretKey, alertsFile] = process.argv.slice(2);
configure({ baseURL, secretKey, requestOptions: { retry: { maxAttempts: 1 } } });

async function step(name, fn) {
  try {
    const value = await fn();
    console.log("ok", name, JSON.stringify(value ?? null).slice(0, 100));
    return value;
  } catch (error) {
    console.log("FAIL", name, `${error.name}: ${error.message}`.slice(0, 500));
    return undefined;
  }
}

const page = await step("runs.list", () =>
  runs.list({ limit: 10, status: ["COMPLETED", "FAILED"], period: "30d" }));
await step("runs.list (auto-pagination)", async () => {
  let count = 0;
  for await (const _run of runs.list({ limit: 100, period: "60d" })) count++;
  return count;
});
await step("runs.retrieve", () => runs.retrieve(page.data[0].id));
const handle = await step("tasks.trigger", () =>
  tasks.trigger("send-email", { to: "a@example.com" },
                { tags: ["sdk"], delay: "1h", idempotencyKey: "sdk-key-1" }));
await step("runs.retrieve (triggered)", () => runs.retrieve(handle.id));
await step("runs.reschedule", () => runs.reschedule(handle.id, { delay: "2h" }));
await step("runs.replay", () => runs.replay(handle.id));
await step("runs.cancel", () => runs.cancel(handle.id));
await step("tasks.trigger (idempotent)", async () => {
  const again = await tasks.trigger("send-email", { to: "a@example.com" },
                                    { idempotencyKey: "sdk-key-1" });
  if (again.id !== handle.id) throw new Error(`expected ${handle.id}, got ${again.id}`);
  return again.id;
});
await step("idempotencyKeys.reset", () =>
  idempotencyKeys.reset("send-email", "sdk-key-1", { scope: "global" }));
const b = await step("tasks.batchTrigger", () =>
  tasks.batchTrigger("send-email", [{ payload: { n: 1 } }, { payload: { n: 2 } }]));
await step("batch.retrieve", () => batch.retrieve(b.batchId));
await step("batch.trigger", () =>
  batch.trigger([{ id: "send-email", payload: { n: 3 } }, { id: "resize-image", payload: {} }]));
await step("runs.list (every V2 status parses)", async () => {
  const seen = new Set();
  for await (const run of runs.list({ limit: 100, period: "60d" })) seen.add(run.status);
  return [...seen].sort();
});

// Waitpoint tokens, outside any task.
const token = await step("wait.createToken", () =>
  wait.createToken({ timeout: "1h", tags: ["sdk"], idempotencyKey: "sdk-wp", idempotencyKeyTTL: "1h" }));
await step("wait.createToken (idempotent)", async () => {
  const again = await wait.createToken({ idempotencyKey: "sdk-wp" });
  if (!again.isCached || again.id !== token.id) throw new Error(JSON.stringify(again));
  return again.id;
});
await step("wait.listTokens", async () => {
  let count = 0;
  for await (const t of wait.listTokens({ status: ["WAITING"], tags: ["sdk"], period: "1h" })) count++;
  if (count !== 1) throw new Error(`expected 1 waiting token, got ${count}`);
  return count;
});
await step("wait.completeToken", () => wait.completeToken(token, { approved: true }));
await step("wait.retrieveToken", async () => {
  const t = await wait.retrieveToken(token.id);
  if (t.status !== "COMPLETED" || t.output?.approved !== true) throw new Error(JSON.stringify(t));
  return t.status;
});
// Alert webhooks signed by the emulator, verified and parsed by the SDK.
if (alertsFile) {
  for (const alert of JSON.parse(readFileSync(alertsFile, "utf-8"))) {
    await step(`webhooks.constructEvent ${alert.type}`, async () => {
      const event = await webhooks.constructEvent(
        { payload: alert.body, header: alert.signature }, alert.secret);
      if (event.type !== alert.type) throw new Error(event.type);
      return event.id;
    });
  }
}
// Public access tokens (claims route + local signing) and realtime (Electric's ShapeStream).
const live = await step("tasks.trigger (to follow)", () =>
  tasks.trigger("send-email", { to: "live@example.com" }, { tags: ["sdk-live"] }));
const readToken = await step("auth.createPublicToken", () =>
  auth.createPublicToken({ scopes: { read: { runs: [live.id], tags: "sdk-live" } } }));
await step("runs.retrieve (public token)", () =>
  auth.withAuth({ baseURL, accessToken: readToken }, () => runs.retrieve(live.id)));
await step("runs.subscribeToRun (public token, ends on completion)", () =>
  auth.withAuth({ baseURL, accessToken: readToken }, async () => {
    const seen = [];
    const abort = new AbortController();
    const guard = setTimeout(() => abort.abort(), 15000);
    setTimeout(() => auth.withAuth({ baseURL, accessToken: secretKey },
                                   () => runs.cancel(live.id)), 300);
    for await (const run of runs.subscribeToRun(live.id, { signal: abort.signal })) {
      seen.push(run.status);
    }
    clearTimeout(guard);
    if (seen[0] !== "QUEUED" || seen.at(-1) !== "CANCELED") throw new Error(seen.join(","));
    return seen;
  }));
await step("runs.subscribeToRunsWithTag", async () => {
  const subscription = runs.subscribeToRunsWithTag("sdk-live");
  for await (const run of subscription) {
    subscription.unsubscribe();
    return run.id;
  }
});
const triggerToken = await step("auth.createTriggerPublicToken", () =>
  auth.createTriggerPublicToken("send-email"));
await step("tasks.trigger (one-time token, twice)", () =>
  auth.withAuth({ baseURL, accessToken: triggerToken }, async () => {
    const first = await tasks.trigger("send-email", { n: 1 });
    try {
      await tasks.trigger("send-email", { n: 2 });
    } catch (error) {
      return [first.id, error.status, error.message];
    }
    throw new Error("the one-time token was accepted twice");
  }));
const batchToken = await step("auth.createBatchTriggerPublicToken", () =>
  auth.createBatchTriggerPublicToken("send-email"));
await step("tasks.batchTrigger (batch-trigger token)", () =>
  auth.withAuth({ baseURL, accessToken: batchToken }, () =>
    tasks.batchTrigger("send-email", [{ payload: { n: 1 } }])));
