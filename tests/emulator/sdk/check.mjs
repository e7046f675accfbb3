// Drives the official TypeScript SDK against the emulator; prints one line per call:
// "ok <name> <summary>" or "FAIL <name> <error>". Usage: node check.mjs <baseURL> <secretKey>
import { configure, runs, tasks, batch, idempotencyKeys } from "@trigger.dev/sdk";

const [baseURL, secretKey] = process.argv.slice(2);
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
