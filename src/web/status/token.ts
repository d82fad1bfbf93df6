/**
 * Signed status tokens: `<expiry>.<task id, base64url>.<HMAC-SHA256, base64url>`. The expiry and
 * the task id are inside the signed text, so a token opens one task until it expires and cannot
 * be edited into another; nothing is stored server-side. Compared in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { parseDuration, type Duration } from "../../config.js";
import { ConfigError } from "../../errors.js";

/** A token lives an hour unless told otherwise. */
export const STATUS_TOKEN_TTL_DEFAULT_MS = 3_600_000;
/** Shortest secret accepted for signing tokens. */
export const STATUS_SECRET_MIN_LENGTH = 16;

export function checkSecret(secret: unknown, option = "secret"): string {
  if (typeof secret !== "string" || secret.length < STATUS_SECRET_MIN_LENGTH)
    throw new ConfigError(
      option,
      `use a random secret of at least ${STATUS_SECRET_MIN_LENGTH} characters (e.g. from crypto.randomBytes(32).toString("base64url")), kept out of source control`,
    );
  return secret;
}

function mac(secret: string, text: string): Buffer {
  return createHmac("sha256", secret).update(`taskledger-status.${text}`).digest();
}

/**
 * A token that lets its bearer read one task's status (and stream its events) until `ttl`
 * (default 1 h; "15m", "2h" or milliseconds) has passed. Hand it to the user who started the task.
 */
export function signStatusToken(secret: string, taskId: string, options: { ttl?: Duration; now?: Date } = {}): string {
  checkSecret(secret);
  if (typeof taskId !== "string" || taskId.length === 0) throw new ConfigError("taskId", "sign a token for a non-empty task id");
  const ttl = parseDuration(options.ttl ?? STATUS_TOKEN_TTL_DEFAULT_MS, "ttl");
  const expires = Math.floor(((options.now ?? new Date()).getTime() + ttl) / 1000);
  const text = `${expires}.${Buffer.from(taskId).toString("base64url")}`;
  return `${text}.${mac(secret, text).toString("base64url")}`;
}

export type TokenCheck = "valid" | "malformed" | "tampered" | "expired" | "other-task";

/** Whether `token` opens `taskId` now, and if not, why (for tests and logs; clients get one 401). */
export function checkStatusToken(secret: string, token: string, taskId: string, now = new Date()): TokenCheck {
  const parts = token.split(".");
  if (parts.length !== 3 || !/^\d{1,12}$/.test(parts[0]!)) return "malformed";
  const [expires, id, signature] = parts as [string, string, string];
  const expected = mac(secret, `${expires}.${id}`);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "tampered";
  if (Number(expires) * 1000 <= now.getTime()) return "expired";
  return Buffer.from(id, "base64url").toString() === taskId ? "valid" : "other-task";
}
