/**
 * Request values the database cannot hold are refused before they reach it: PostgreSQL rejects a
 * NUL byte in any text parameter ("invalid byte sequence for encoding UTF8: 0x00"), which
 * surfaced as a 500 from a filter, a task link or a group link.
 */
import type { MiddlewareHandler } from "hono";
import { ConfigError, InvalidIdError } from "../errors.js";

/** Refuses (400) a NUL byte anywhere in the path or the query string, on every dialect alike. */
export function nulCheck(): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    const refuse = (where: string) =>
      new ConfigError(where, "holds a NUL byte (%00), which no task id, group id or filter value can contain; remove it from the link");
    // The URL parser percent-encodes control characters, so in a path a NUL can only be %00.
    if (url.pathname.includes("%00")) throw refuse("path");
    for (const [key, value] of url.searchParams) if (key.includes("\0") || value.includes("\0")) throw refuse(key.replace(/\0/g, ""));
    return next();
  };
}

/** The HTTP status for an error a route threw: what the client sent (400), else the server's fault (500). */
export function statusOf(error: unknown): 400 | 500 {
  // An id too long for its column, empty or holding a NUL can never name a stored row, and the
  // InvalidIdError says which rule it broke.
  return error instanceof ConfigError || error instanceof InvalidIdError ? 400 : 500;
}
