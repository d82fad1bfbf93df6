/**
 * The Tasks filters as they travel in a URL's query string (so a filtered list can be shared as a
 * URL), read once here for the pages and the API alike.
 */
import { parsePointInTime } from "../config.js";
import type { TaskQuery } from "../db/types.js";
import { ConfigError } from "../errors.js";

export interface WebFilters {
  query: TaskQuery;
  /** "Type: message" of a failure group (matched on decoded FAILURE rows). */
  error: string | undefined;
  /** Keyset cursor: rows with a smaller id. */
  /** The previous page's `next` cursor (opaque). */
  before: string | undefined;
  limit: number;
  /** The filters as given, for links and forms (empty values dropped). */
  params: URLSearchParams;
}

export const FILTER_KEYS = ["state", "name", "worker", "queue", "group", "id", "since", "until", "error"] as const;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 500;

/** Reads filters from a query string; throws ConfigError (HTTP 400) for a malformed value. */
export function readFilters(search: URLSearchParams, now = new Date()): WebFilters {
  const values = (key: string) =>
    search
      .getAll(key)
      .flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter(Boolean);
  const one = (key: string) => {
    const v = search.get(key)?.trim();
    return v ? v : undefined;
  };
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) for (const v of search.getAll(key)) if (v.trim()) params.append(key, v.trim());
  const states = values("state").map((s) => s.toUpperCase());
  const since = one("since");
  const until = one("until");
  const limitText = one("limit");
  const limit = limitText === undefined ? PAGE_DEFAULT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX)
    throw new ConfigError("limit", `expected 1 to ${PAGE_MAX}, got "${limitText}"`);
  const beforeText = one("before");
  // Checked by the listing itself, which knows which order its cursors are in.
  const before = beforeText;
  const error = one("error");
  return {
    query: {
      states: error ? ["FAILURE"] : states.length ? states : undefined,
      names: values("name").length ? values("name") : undefined,
      workers: values("worker").length ? values("worker") : undefined,
      queues: values("queue").length ? values("queue") : undefined,
      groups: values("group").length ? values("group") : undefined,
      idPrefix: one("id"),
      since: since === undefined ? undefined : parsePointInTime(since, "since", now),
      until: until === undefined ? undefined : parsePointInTime(until, "until", now),
    },
    error,
    before,
    limit,
    params,
  };
}

/** A query string from filter params plus changes (undefined removes a key). */
export function withParams(params: URLSearchParams, changes: Record<string, string | number | undefined>): string {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    next.delete(key);
    if (value !== undefined && value !== "") next.set(key, String(value));
  }
  const text = next.toString();
  return text ? `?${text}` : "";
}
