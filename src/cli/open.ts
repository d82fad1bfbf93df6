/**
 * Opening the backend a command names: the global options, the dependencies every command
 * gets, and `withBackend`, which always closes what it opened.
 */
import { openBackend } from "../backend/open-backend.js";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { defaultDatabaseUrl, parseDuration } from "../config.js";
import { expiresFromEnv } from "./options.js";
import type { Output } from "./output.js";

export interface GlobalOptions {
  url?: string;
  readUrl?: string;
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
  // How long a command keeps retrying an unreachable or restarting database (default 15 s); a
  // health check or a test of a dead URL wants 0.
  const budget = process.env["TASKLEDGER_RETRY_BUDGET"];
  return {
    out,
    json: Boolean(globals.json),
    open: (options = {}) =>
      openBackend({
        url,
        ...(globals.readUrl ? { readUrl: globals.readUrl } : {}),
        migrate: options.migrate ?? false,
        createIfMissing: options.create ?? false,
        tableNames: {
          ...(globals.taskTable ? { task: globals.taskTable } : {}),
          ...(globals.groupTable ? { group: globals.groupTable } : {}),
        },
        tableSchemas: { task: globals.schema ?? null, group: globals.schema ?? null },
        resultExpires: expiresFromEnv(process.env["TASKLEDGER_RESULT_EXPIRES"]),
        ...(budget === undefined || budget.trim() === "" ? {} : { retryBudget: parseDuration(budget.trim(), "TASKLEDGER_RETRY_BUDGET") }),
      }),
  };
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
