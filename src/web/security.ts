/**
 * Safe by default: who may talk to the server and what every response carries.
 * - A non-loopback bind needs a token; it is checked on every request, the event stream and the
 *   static files included (header, `Authorization: Bearer`, or a cookie set from `?token=`),
 *   and a token link redirects only to a path on this server.
 * - On a loopback bind the Host header must name loopback, so a web page elsewhere cannot reach
 *   the server through DNS rebinding.
 * - Writes (forget, revoke) exist only with --allow-writes, and then only as a POST carrying the
 *   write token in a header, which a cross-site form or image cannot send.
 * - Every response forbids inline script (CSP) and framing.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { ConfigError } from "../errors.js";

/** Content-Security-Policy of every response: scripts and styles only from this server's files. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
export const TOKEN_HEADER = "x-taskledger-token";

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** Refuses to start on a non-loopback address without a token (the caller names the option). */
export function checkBind(host: string, token: string | null): void {
  if (!isLoopback(host) && !token) {
    throw new ConfigError(
      "--host",
      `binding to ${host} would show every stored result to anyone who can reach it; set a token with --token or TASKLEDGER_SERVE_TOKEN, or bind to 127.0.0.1`,
    );
  }
  if (token !== null && token.length < 16)
    throw new ConfigError("--token", "use at least 16 characters (for example: openssl rand -hex 16)");
}

/** A fresh token for writes when none was configured (loopback only). */
export function randomToken(): string {
  return randomBytes(24).toString("base64url");
}

export function sameToken(given: string | undefined | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("X-Frame-Options", "DENY");
    c.header("Referrer-Policy", "no-referrer");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  };
}

export function hostCheck(bindHost: string): MiddlewareHandler {
  const loopback = isLoopback(bindHost);
  return async (c, next) => {
    if (loopback) {
      // The node adapter builds the request URL from the Host header.
      const host = new URL(c.req.url).hostname;
      if (!isLoopback(host)) return c.text("taskledger serve: this server answers only to localhost, 127.0.0.1 or [::1]", 421);
    }
    return next();
  };
}

/**
 * The cookie that carries the token, named for the port the browser reached: browsers keep one
 * cookie per name and host whatever the port, so two servers on one host shared a name and each
 * login overwrote the other's token.
 */
export function tokenCookieName(url: URL): string {
  return `taskledger_token_${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/**
 * Requires the token on every request when one is configured. Every credential the request
 * carries is tried: a cookie left by an earlier run (the README's recipe makes a new token at
 * each start) must not outvote a correct link or header.
 */
export function tokenCheck(token: string | null): MiddlewareHandler {
  return async (c, next) => {
    if (token === null) return next();
    const url = new URL(c.req.url);
    const cookie = tokenCookieName(url);
    const fromQuery = c.req.query("token");
    const offered = [
      c.req.header(TOKEN_HEADER),
      c.req.header("authorization")?.replace(/^Bearer\s+/i, ""),
      fromQuery,
      getCookie(c, cookie),
    ];
    if (!offered.some((given) => sameToken(given, token))) {
      return c.text(
        "taskledger serve: token required; open the link with ?token=<token>, or send it in the X-Taskledger-Token or Authorization: Bearer header",
        401,
      );
    }
    if (fromQuery !== undefined && c.req.method === "GET") {
      // Keep the token out of the address bar, history and logs: a cookie carries it from here.
      setCookie(c, cookie, token, { httpOnly: true, sameSite: "Strict", path: "/" });
      url.searchParams.delete("token");
      if (!url.pathname.startsWith("/api/")) return c.redirect(`${localPath(url.pathname)}${url.search}`, 303);
    }
    return next();
  };
}

/**
 * A path that stays on this server: `//evil.example/x` (and `/\evil.example`, which the URL
 * parser reads the same) would be a link to another host in a Location header.
 */
export function localPath(pathname: string): string {
  return `/${pathname.replace(/^[/\\]+/, "")}`;
}

/** POST guard: writes enabled, the write token in its header, and no foreign Origin. */
export function writeCheck(allowWrites: boolean, writeToken: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    if (!allowWrites)
      return c.json(
        { error: "read-only: start taskledger serve with --allow-writes to forget or revoke tasks or replay dead letters" },
        403,
      );
    if (!sameToken(c.req.header(TOKEN_HEADER), writeToken)) return c.json({ error: `writes need the ${TOKEN_HEADER} header` }, 403);
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin) return c.json({ error: "cross-origin write refused" }, 403);
    return next();
  };
}
