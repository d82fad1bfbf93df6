/**
 * MySQL and MariaDB errors, read once in the executor: a missing table becomes MissingTablesError
 * naming it, a value too long for its column ValueTooLargeError (strict mode refuses it; the
 * executor's own checks usually catch it first), and transient failures are told apart.
 */
import { MissingColumnError, MissingTablesError, ValueTooLargeError } from "../../errors.js";

interface MysqlError {
  code?: string;
  errno?: number;
  message?: string;
  fatal?: boolean;
}

/** What the caller should see instead of a raw mysql2 error; anything unrecognised passes through. */
export function interpretError(error: unknown, defaultTable: string): unknown {
  const e = error as MysqlError | null;
  if (e?.errno === 1146 || e?.code === "ER_NO_SUCH_TABLE") {
    // "Table 'db.name' doesn't exist"
    const named = /Table '(?:[^'.]+\.)?([^']+)' doesn't exist/.exec(e.message ?? "")?.[1];
    return new MissingTablesError(named ? `\`${named}\`` : defaultTable, { cause: error });
  }
  if (e?.errno === 1054 || e?.code === "ER_BAD_FIELD_ERROR") {
    // "Unknown column 'children' in 'INSERT INTO'": a table Celery or an older taskledger made, not migrated since.
    const column = /Unknown column '(?:[^']*\.)?([^'.]+)'/.exec(e.message ?? "")?.[1] ?? "?";
    return new MissingColumnError(column, { cause: error });
  }
  if (e?.errno === 1406 || e?.code === "ER_DATA_TOO_LONG") {
    const column = /for column '([^']+)'/.exec(e.message ?? "")?.[1] ?? "value";
    return Object.assign(
      new ValueTooLargeError(
        column,
        undefined,
        undefined,
        `The column ${column} is too narrow for it; widen it with \`taskledger migrate --widen\` (a table Celery created), then store again.`,
      ),
      { cause: error },
    );
  }
  return error;
}

/**
 * Worth retrying: the connection went (server restart, killed session, network), the server is
 * starting or shutting down, too many connections, a deadlock or a lock wait timeout (the
 * statement was rolled back and can run again).
 */
export function isTransientMysqlError(error: unknown): boolean {
  const e = error as MysqlError | null;
  if (!e) return false;
  if (typeof e.errno === "number" && TRANSIENT_ERRNOS.has(e.errno)) return true;
  return typeof e.code === "string" && TRANSIENT_CODES.has(e.code);
}

const TRANSIENT_ERRNOS = new Set([
  1040, // ER_CON_COUNT_ERROR
  1053, // ER_SERVER_SHUTDOWN
  1205, // ER_LOCK_WAIT_TIMEOUT
  1213, // ER_LOCK_DEADLOCK
  1927, // ER_CONNECTION_KILLED (MariaDB)
  2002, // CR_CONNECTION_ERROR
  2003, // CR_CONN_HOST_ERROR
  2006, // CR_SERVER_GONE_ERROR
  2013, // CR_SERVER_LOST
  4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
]);

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CONNECTION_KILLED",
  "ER_LOCK_DEADLOCK",
  "ER_LOCK_WAIT_TIMEOUT",
  "ER_CON_COUNT_ERROR",
]);
