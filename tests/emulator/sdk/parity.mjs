// The SDK half of tests/conformance/test_sdk_parity.py: the same steps as the client half,
// in the same order. Usage: node parity.mjs <baseURL> <secretKey> <bigPayloadChars>
import { configure, tasks, runs } from "@trigger.dev/sdk";
const [baseURL, secretKey, bigSize] = process.argv.slice(2);
configure({ baseURL, secretKey, requestOptions: { retry: { maxAttempts: 1 } } });
const out = {};
out.options = await tasks.trigger("send-email", { to: "a@example.com" }, {
  idempotencyKey: "parity-1", idempotencyKeyTTL: "1h", delay: "1h", ttl: "2h", tags: ["p1"],
  queue: "emails", concurrencyKey: "tenant-7", maxAttempts: 3, maxDuration: 60,
  metadata: { source: "parity" }, machine: "small-2x", priority: 10, region: "eu-central-1",
  version: "20261201.1", externalDeploymentId: "3f2c9a1",
});
out.debounce = await tasks.trigger("send-email", { n: 1 }, {
  debounce: { key: "user-7", delay: "5s", mode: "trailing", maxDelay: "1m" } });
out.big = await tasks.trigger("send-email", { data: "x".repeat(Number(bigSize)) });
out.batch = await tasks.batchTrigger(
  "send-email", [{ payload: { n: 1 } }, { payload: { n: 2 }, options: { tags: ["b"] } }],
  { idempotencyKey: "parity-batch" });
out.replay = await runs.replay(out.options.id);
out.replayed = await runs.replay(out.options.id, {
  payload: { to: "b@example.com" }, metadata: { source: "replay" }, tags: ["r1", "r2"],
  queue: "emails", concurrencyKey: "tenant-8", machine: "large-1x", version: "20261201.2",
  region: "eu-central-1", delay: "2h", ttl: "3h", idempotencyKey: "replay-parity",
  idempotencyKeyTTL: "1h", maxAttempts: 2, maxDuration: 30, priority: 5,
});
console.log(JSON.stringify(out));
