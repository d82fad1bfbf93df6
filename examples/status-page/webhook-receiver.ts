// A webhook receiver: verifies X-Taskledger-Signature over the raw body before trusting it, and
// treats the idempotency key as the event's identity (a delivery can come twice: at least once).
import { Hono } from "hono";
import { verifyWebhookSignature, type WebhookPayload } from "taskledger/http";

export function receiver(secret: string, onEvent: (payload: WebhookPayload) => void) {
  const seen = new Set<string>();
  const app = new Hono();
  app.post("/hooks/taskledger", async (c) => {
    const body = await c.req.text(); // the raw text: a re-serialized JSON would not match the signature
    if (!verifyWebhookSignature(secret, c.req.header("x-taskledger-signature"), body)) return c.text("bad signature", 401);
    const payload = JSON.parse(body) as WebhookPayload;
    if (!seen.has(payload.id)) {
      seen.add(payload.id);
      onEvent(payload);
    }
    return c.body(null, 204);
  });
  return app;
}
