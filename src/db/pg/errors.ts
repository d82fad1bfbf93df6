/**
 * Which PostgreSQL failures are transient. Connection loss and server restarts are retried (the
 * pool drops the broken client); so are serialization failures and deadlocks, which PostgreSQL
 * itself says to retry. Everything else (constraint, syntax, permission) fails at once.
 */
const TRANSIENT_SQLSTATE_CLASSES = ["08"]; // connection exception
const TRANSIENT_SQLSTATES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
  "57P01", // admin_shutdown (server stopping or pg_terminate_backend)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (server starting)
  "53300", // too_many_connections
]);
const TRANSIENT_NODE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN", "EAI_AGAIN"]);
const TRANSIENT_MESSAGES = [
  /Connection terminated/i,
  /connection is not open/i,
  /Client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
];

export function isTransientPgError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_NODE_CODES.has(code)) return true;
    if (code.length === 5 && TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(error.message));
}
