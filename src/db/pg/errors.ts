/**
 * PostgreSQL's errors, read once for the whole dialect (the executor applies these to every
 * statement): what a failure means (interpretError) and whether it is worth retrying
 * (isTransientPgError).
 */
import { MissingColumnError, MissingTablesError } from "../../errors.js";
import type { Tables } from "../tables.js";

/**
 * Transient: connection loss and server restarts (the pool drops the broken client), and the
 * serialization failures and deadlocks PostgreSQL itself says to retry. Everything else
 * (constraint, syntax, permission) fails at once.
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
// node-postgres's own errors carry no code: its messages are all there is to read.
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

/**
 * undefined_table (42P01) becomes MissingTablesError naming the table PostgreSQL names (the hold
 * table, say, on a database migrated before holds); undefined_column (42703) MissingColumnError.
 * Anything else is returned as it is.
 */
export function interpretError(error: unknown, tables: Tables): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : "";
  if (code === "42P01")
    return new MissingTablesError(/relation "([^"]+)" does not exist/.exec(message)?.[1] ?? tables.task, { cause: error });
  if (code === "42703") {
    // "column t.children does not exist" names it through the statement's alias: the column is the last part.
    const named = /column "?([^" ]+)"? (?:of relation "[^"]+" )?does not exist/.exec(message)?.[1];
    return new MissingColumnError(named?.split(".").pop() ?? "?", { cause: error });
  }
  return error;
}
