/**
 * The webhook signature, shared by the dispatcher that signs and the receivers that verify:
 * `X-Taskledger-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The time is
 * inside the signed text, so a captured request cannot be replayed later with a fresh `t`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "X-Taskledger-Signature";
/** How far a signature's time may be from the receiver's clock by default: 5 minutes. */
export const SIGNATURE_TOLERANCE_DEFAULT_S = 300;

export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac("sha256", secret).update(`${unixSeconds}.${body}`).digest("hex");
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Whether `header` signs `body` with `secret` within `toleranceSeconds` of `now`. Several `v1`
 * values are accepted (a receiver rotating secrets may be sent either), compared in constant time.
 */
export function verifySignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  options: { toleranceSeconds?: number; now?: Date } = {},
): boolean {
  if (!header) return false;
  let t: number | undefined;
  const macs: string[] = [];
  for (const part of header.split(",")) {
    const [key, value] = part.trim().split("=", 2);
    if (key === "t" && value && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === "v1" && value && /^[0-9a-f]{64}$/.test(value)) macs.push(value);
  }
  if (t === undefined || macs.length === 0) return false;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_DEFAULT_S)) return false;
  const expected = Buffer.from(createHmac("sha256", secret).update(`${t}.${body}`).digest("hex"));
  return macs.some((mac) => timingSafeEqual(Buffer.from(mac), expected));
}
