/**
 * SQLite's errors, read once for the whole dialect (the executor applies these to every
 * statement): what a failure means (interpretError) and whether it is worth retrying
 * (isTransientSqliteError).
 */
import { MissingColumnError, MissingTablesError } from "../../errors.js";
import type { Tables } from "../tables.js";

/**
 * Transient: another connection holds the write lock (SQLITE_BUSY, after the busy timeout ran
 * out), a table is locked within this connection's cache, or the application's transaction on a
 * shared connection stayed open (SQLITE_BUSY_TRANSACTION, see executor.ts).
 */
export function isTransientSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * better-sqlite3 reports a missing table or column as SQLITE_ERROR with SQLite's message, its only
 * trace: "no such table: X" becomes MissingTablesError naming X, "no such column: c" and "table X
 * has no column named c" MissingColumnError. Anything else is returned as it is.
 */
export function interpretError(error: unknown, tables: Tables): unknown {
  const message = error instanceof Error ? error.message : "";
  const table = /^no such table: ?(\S*)/.exec(message);
  if (table) return new MissingTablesError(table[1] || tables.task, { cause: error });
  const column = /^no such column: ?(\S+)/.exec(message) ?? /has no column named (\S+)/.exec(message);
  if (column) return new MissingColumnError(column[1]!, { cause: error });
  return error;
}
