// The sessions and webhook-waiter half of tests/conformance/test_sdk_parity.py: what the
// official SDK sends for each call that this client mirrors (argv: baseURL, secretKey).
import { configure, sessions, webhooks } from "@trigger.dev/sdk";

const [, , baseURL, secretKey] = process.argv;
configure({ baseURL, secretKey });

await sessions.start({
  type: "chat.agent",
  externalId: "parity-chat",
  taskIdentifier: "send-email",
  triggerConfig: { basePayload: { chatId: "parity-chat" }, machine: "small-2x", maxAttempts: 2 },
  tags: ["support"],
  metadata: { user: 7 },
});
await sessions.retrieve("parity-chat");
await sessions.list({ type: "chat.agent", tag: ["support", "vip"], status: "ACTIVE", limit: 5 });
const chat = sessions.open("parity-chat");
await chat.in.send({ text: "hi" });
await chat.in.send("plain text");
await chat.channel("tools").in.send({ approve: true });
await chat.out.writeControl("turn-complete", [["public-access-token", "t"]]);
await chat.out.trimTo(1);
// Follow .out after record 0 until the service ends the idle answer (1 s).
for await (const _chunk of await chat.out.read({ timeoutInSeconds: 1, lastEventId: 0 })) {
  // the data records; control records go to onControl
}
await sessions.update("parity-chat", { tags: ["support", "vip"], metadata: { user: 8 } });
await sessions.close("parity-chat", { reason: "resolved" });
const waiter = await webhooks.waiter.create(
  { id: "stripe-payments" },
  { match: { "event.type": "payment_intent.succeeded" }, timeout: "1h", tags: ["order"], idempotencyKey: "order-42", idempotencyKeyTTL: "2h" },
);
await webhooks.waiter.cancel(waiter.id);
