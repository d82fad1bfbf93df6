/**
 * Reading option values, one parser per kind, so every command reads them alike and every bad
 * value is a ConfigError (exit 2) naming the option: retentions (a duration or forever, through
 * parseRetention in ../config.ts), counts, the port, and time filters.
 */
import { parseAge, parsePointInTime, parseRetention, type Duration } from "../config.js";
import type { TaskQuery } from "../db/types.js";
import { ConfigError } from "../errors.js";

/**
 * TASKLEDGER_RESULT_EXPIRES: unset is the backend default (undefined); set but blank, like the
 * words and a zero duration, keeps results forever (null); else a duration in ms.
 */
export function expiresFromEnv(value: string | undefined): Duration | null | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") return null;
  return parseRetention(value, "TASKLEDGER_RESULT_EXPIRES");
}

/**
 * A retention option as given (`--expires`, a policy file's `expires`): null when it means
 * forever, else the text unchanged (cleanup prints it as written). Throws a ConfigError if bad.
 */
export function retentionOption<T extends Duration>(value: T, option: string): T | null {
  return parseRetention(value, option) === null ? null : value;
}

/** An age option (`--archive-after`): the text unchanged, once known to be a duration within the limit. */
export function ageOption(value: string, option: string): string {
  parseAge(value, option);
  return value;
}

/**
 * A count option (--limit, --top, --batch-size): a whole number of 1 or more written in digits
 * (no sign, fraction, exponent or hex), at most `max`.
 */
export function parsePositiveInt(value: string, option: string, max = Number.MAX_SAFE_INTEGER): number {
  const text = value.trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? "a positive integer" : `an integer from 1 to ${max}`;
    throw new ConfigError(option, `expected ${range}, e.g. ${option} 100, got "${value}"`);
  }
  return n;
}

/** `serve --port`: 1 to 65535, or 0 for a free port the system picks. */
export function parsePort(value: string, option = "--port"): number {
  if (value.trim() === "0") return 0;
  try {
    return parsePositiveInt(value, option, 65_535);
  } catch {
    throw new ConfigError(option, `expected a port from 1 to 65535, or 0 to pick a free one, e.g. ${option} 8765, got "${value}"`);
  }
}

/** `--since` / `--until`: see parsePointInTime (one reader for the CLI and the web view). */
export const parseSince = parsePointInTime;

export interface FilterOptions {
  state?: string[];
  name?: string[];
  worker?: string[];
  queue?: string[];
  since?: string;
  until?: string;
}

export function queryFrom(options: FilterOptions): TaskQuery {
  const upper = (values: string[] | undefined) =>
    values
      ?.flatMap((v) => v.split(","))
      .map((v) => v.trim().toUpperCase())
      .filter(Boolean);
  const list = (values: string[] | undefined) =>
    values
      ?.flatMap((v) => v.split(","))
      .map((v) => v.trim())
      .filter(Boolean);
  return {
    states: upper(options.state),
    names: list(options.name),
    workers: list(options.worker),
    queues: list(options.queue),
    since: options.since === undefined ? undefined : parseSince(options.since, "--since"),
    until: options.until === undefined ? undefined : parseSince(options.until, "--until"),
  };
}
