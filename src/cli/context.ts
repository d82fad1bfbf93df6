/**
 * What every command shares: the global options, opening the backend they name, reading
 * time filters, and turning errors into a message and an exit code.
 */
import { openBackend } from "../backend/open-backend.js";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { defaultDatabaseUrl, parseDuration, resolveExpires, type Duration } from "../config.js";
import type { TaskQuery } from "../db/audit.js";
import { CleanupLockedError, ConfigError, DatabaseError, MigrationError, TaskledgerError } from "../errors.js";
import { EXIT } from "./exit-codes.js";
import type { Output } from "./output.js";

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  taskTable?: string;
  groupTable?: string;
  schema?: string;
}

export interface CommandDeps {
  out: Output;
  /** Opens the backend the global options name (without migrating or creating a SQLite file: only `migrate` does). */
  open: (options?: { migrate?: boolean; create?: boolean }) => Promise<DatabaseBackend>;
  json: boolean;
}

export function depsFor(globals: GlobalOptions, out: Output): CommandDeps {
  const url = globals.url ?? defaultDatabaseUrl();
  return {
    out,
    json: Boolean(globals.json),
    open: (options = {}) =>
      openBackend({
        url,
        migrate: options.migrate ?? false,
        createIfMissing: options.create ?? false,
        tableNames: {
          ...(globals.taskTable ? { task: globals.taskTable } : {}),
          ...(globals.groupTable ? { group: globals.groupTable } : {}),
        },
        tableSchemas: { task: globals.schema ?? null, group: globals.schema ?? null },
        resultExpires:
          process.env["TASKLEDGER_RESULT_EXPIRES"] === undefined ? undefined : resolveExpiresEnv(process.env["TASKLEDGER_RESULT_EXPIRES"]),
      }),
  };
}

function resolveExpiresEnv(value: string): Duration | null {
  return ["", "none", "never", "0"].includes(value.trim().toLowerCase()) ? null : value;
}

/** Opens the backend, runs `body`, always closes. */
export async function withBackend<T>(
  deps: CommandDeps,
  body: (backend: DatabaseBackend) => Promise<T>,
  options: { migrate?: boolean; create?: boolean } = {},
): Promise<T> {
  const backend = await deps.open(options);
  try {
    return await body(backend);
  } finally {
    await backend.close();
  }
}

/** A point in time from "24h"/"7d" (that long ago) or an ISO date/time (naive means UTC). */
export function parseSince(value: string, option: string, now = new Date()): Date {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const hasZone = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(text);
    const date = new Date(hasZone || text.length === 10 ? text : `${text.replace(" ", "T")}Z`);
    if (Number.isNaN(date.getTime()))
      throw new ConfigError(
        option,
        `cannot read date "${value}"; use an ISO date such as 2026-11-17 or 2026-11-17T08:00Z, or a duration such as 24h`,
      );
    return date;
  }
  const at = new Date(now.getTime() - parseDuration(text, option));
  // "99999999999d" ago is before the first representable date (#9).
  if (Number.isNaN(at.getTime()))
    throw new ConfigError(option, `"${value}" reaches before the earliest date there is; use a shorter duration or an ISO date`);
  return at;
}

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

export function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(option, `expected a positive integer, got "${value}"`);
  return n;
}

export { resolveExpires };

/** Prints an error the way every command does and returns the exit code it deserves. */
export function reportError(error: unknown, out: Output): number {
  if (error instanceof CleanupLockedError) {
    out.err(`taskledger: ${error.message}`);
    return EXIT.LOCKED;
  }
  if (error instanceof ConfigError) {
    out.err(`taskledger: ${error.message}`);
    return EXIT.USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  const missing = /does not exist|no such table|no column named|no such column/i.test(message)
    ? " (tables missing, or created by Celery and not adopted yet? run `taskledger migrate` first)"
    : "";
  const known = error instanceof TaskledgerError || error instanceof DatabaseError || error instanceof MigrationError;
  out.err(`taskledger: ${known ? message : `unexpected error: ${message}`}${missing}`);
  return EXIT.FAILURE;
}
