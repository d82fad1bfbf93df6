/**
 * taskledger/http: telling users how their tasks are doing. A status handler to mount in the
 * application (polling with ETags, and server-sent events), signed per-task status tokens, and
 * the check a webhook receiver runs on each delivery. This module is that public API and nothing else.
 */
export {
  createStatusHandler,
  STATUS_HEARTBEAT_DEFAULT_MS,
  STATUS_RECHECK_DEFAULT_MS,
  type StatusHandler,
  type StatusHandlerOptions,
} from "./web/status/handler.js";
export { signStatusToken, checkStatusToken, STATUS_TOKEN_TTL_DEFAULT_MS, type TokenCheck } from "./web/status/token.js";
export type { TaskStatus, GroupStatus } from "./web/status/body.js";
export {
  verifySignature as verifyWebhookSignature,
  signatureHeader as webhookSignatureHeader,
  SIGNATURE_HEADER as WEBHOOK_SIGNATURE_HEADER,
  SIGNATURE_TOLERANCE_DEFAULT_S as WEBHOOK_SIGNATURE_TOLERANCE_DEFAULT_S,
} from "./backend/webhook-signature.js";
export type { WebhookPayload } from "./backend/webhook-dispatcher.js";
