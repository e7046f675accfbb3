// The SDK half of tests/conformance/test_sdk_parity.py's operations scenario: concurrency
// limits, query and dashboards, the same steps as the client half, in the same order.
// Usage: node ops_parity.mjs <baseURL> <secretKey>
import { configure, concurrencyLimits, query } from "@trigger.dev/sdk";
const [baseURL, secretKey] = process.argv.slice(2);
configure({ baseURL, secretKey, requestOptions: { retry: { maxAttempts: 1 } } });
await concurrencyLimits.list({ page: 1, perPage: 2 });
await concurrencyLimits.retrieve("task/process-payment");
await concurrencyLimits.retrieve("openai", { concurrencyKey: "acme" });
await concurrencyLimits.override("openai", { total: 4 });
await concurrencyLimits.override("openai", { concurrencyKey: "acme", perKey: 0, ttl: "12h" });
await concurrencyLimits.reset("openai", { concurrencyKey: "acme" });
await concurrencyLimits.reset("openai");
await concurrencyLimits.pause("openai");
await concurrencyLimits.resume("openai");
await query.execute("SELECT status, count() AS n FROM runs GROUP BY status", { period: "7d" });
await query.execute("SELECT count() FROM runs", {
  scope: "project", from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-11-02T12:30:00Z"),
  format: "csv",
});
await query.dashboards.list();
const widget = { id: "w1", title: "Runs", query: "SELECT count() AS runs FROM runs",
  display: { type: "table" } };
const made = await query.dashboards.create({ title: "Ops", description: "d", widgets: [widget] });
await query.dashboards.retrieve(made.id);
const renamed = await query.dashboards.update(made.id, { title: "Ops 2", revision: made.revision });
const replaced = await query.dashboards.replace(made.id, {
  widgets: [widget, { id: "w2", title: "Section", display: { type: "title" } }],
  revision: renamed.revision,
});
const added = await query.dashboards.widgets.add(made.id, {
  id: "w3", title: "More", query: "SELECT count() FROM runs", display: { type: "table" },
  revision: replaced.revision,
});
const changed = await query.dashboards.widgets.update(made.id, "w3", {
  title: "Most", revision: added.dashboard.revision,
});
await query.dashboards.widgets.del(made.id, "w3", { revision: changed.revision });
await query.dashboards.del(made.id);
console.log(JSON.stringify({ ok: true }));
