/**
 * Every error taskledger throws on purpose is a TaskledgerError subclass, so callers can catch
 * one family and switch on the class. Messages say what to do next and never carry passwords or
 * bound SQL values.
 */
export class TaskledgerError extends Error {
  override name = "TaskledgerError";
}

/** Thrown by openBackend() and the CLI when an option is missing, malformed or out of range. */
export class ConfigError extends TaskledgerError {
  override name = "ConfigError";
  constructor(
    /** The option at fault, as the caller spelled it (for example `resultExpires`). */
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** Thrown when a database URL cannot be parsed or names a database taskledger does not support. */
export class InvalidUrlError extends ConfigError {
  override name = "InvalidUrlError";
  constructor(
    /** The URL with any password replaced by `***`. */
    readonly maskedUrl: string,
    reason: string,
  ) {
    super(
      "url",
      `${reason} (got "${maskedUrl}"). Use sqlite:<path>, a file path, :memory:, postgres://… or Celery's db+sqlite:///… / db+postgresql://…`,
    );
  }
}

/**
 * Thrown by openBackend({ client }), migrate({ client }) and backend.inTransaction(tx) when the
 * connection given is not one taskledger can use (a pg.Client instead of a pg.Pool, an ended
 * pool, a closed SQLite Database, a transaction on the other dialect).
 */
export class InvalidClientError extends ConfigError {
  override name = "InvalidClientError";
  constructor(reason: string, option = "client") {
    super(option, reason);
  }
}

/**
 * Thrown by a transaction writer (backend.inTransaction(tx)) when `tx` is not inside an open
 * transaction, so nothing would be atomic with the caller's work. Nothing was written.
 */
export class NotInTransactionError extends TaskledgerError {
  override name = "NotInTransactionError";
  constructor(reason: string) {
    super(
      `${reason}: backend.inTransaction(tx) records inside a transaction you opened. Run BEGIN on the client first (or use db.transaction(tx => …)) and call it before COMMIT; outside a transaction use the backend's own methods.`,
    );
  }
}

/**
 * Thrown by a transaction writer (backend.inTransaction(tx)) when `tx` is connected to another
 * database than the backend's: the result would be written there, and the backend would go on
 * reading PENDING. Nothing was written.
 */
export class DatabaseMismatchError extends InvalidClientError {
  override name = "DatabaseMismatchError";
  constructor(
    /** The transaction's database as it describes itself (a file path, or a name and server; never credentials). */
    readonly transactionDatabase: string,
    /** The backend's database, described the same way. */
    readonly backendDatabase: string,
  ) {
    super(
      `this transaction is on ${transactionDatabase} but the backend records in ${backendDatabase}; record in a transaction on the backend's database, or open a backend on the transaction's database (openBackend({ client }) with that connection)`,
      "tx",
    );
  }
}

/**
 * Thrown by runTask() with `transactionOn` over a connection whose transactions are synchronous
 * (drizzle over better-sqlite3, or a better-sqlite3 Database) when the task function is async or
 * returns a promise: nothing can await inside such a transaction. Nothing was recorded for the
 * task, and the transaction rolled back.
 */
export class SynchronousTransactionError extends TaskledgerError {
  override name = "SynchronousTransactionError";
  constructor(readonly taskId: string) {
    super(
      `task ${taskId}: better-sqlite3 transactions are synchronous, so with transactionOn over better-sqlite3 (or drizzle over it) the task function must be synchronous (no async, no promise). Make it synchronous, or pass an async BEGIN … COMMIT wrapper as transactionOn (see the README, "Recording inside your transaction"), or run the task without transactionOn`,
    );
  }
}

/** Thrown when a task id or group id is empty or longer than its column (155 characters). */
export class InvalidIdError extends TaskledgerError {
  override name = "InvalidIdError";
  constructor(
    readonly kind: "task" | "group",
    readonly id: unknown,
    reason: string,
  ) {
    super(`invalid ${kind} id ${JSON.stringify(String(id).slice(0, 40))}: ${reason}`);
  }
}

/** Thrown before anything is written when a result, args or kwargs value cannot be encoded. */
export class EncodeError extends TaskledgerError {
  override name = "EncodeError";
  constructor(
    /** Where in the value the problem sits, as a JavaScript path (`$.rows[3].at`). */
    readonly path: string,
    reason: string,
  ) {
    super(
      `cannot encode value at ${path}: ${reason}. Convert it to plain JSON data (objects, arrays, strings, numbers, booleans, null, Date, Uint8Array, bigint) first.`,
    );
  }
}

/** A stored value that cannot be decoded. Reported for one task; never stops a listing or cleanup. */
export class CorruptValueError extends TaskledgerError {
  override name = "CorruptValueError";
  constructor(
    readonly taskId: string,
    readonly column: string,
    reason: string,
  ) {
    super(
      `stored ${column} of task ${taskId} cannot be decoded: ${reason}. Inspect the row with \`taskledger show ${taskId}\` or forget it.`,
    );
  }
}

/** Backend operations that write; their failure may hide a commit the client never saw. */
const WRITE_OPERATIONS = new Set(["storeResult", "storeMany", "saveGroup"]);

/**
 * A database operation failed: either a permanent error, or a transient one (connection reset,
 * server restart, SQLITE_BUSY) that persisted for the whole retry budget (`retryBudget`).
 * A failed store may still have committed (the connection can drop after the commit and before
 * the reply); stores are idempotent, so repeating one is safe.
 */
export class DatabaseError extends TaskledgerError {
  override name = "DatabaseError";
  /** Whether the last error was transient (connection loss, restart, busy): trying later may succeed. */
  readonly transient: boolean;
  /** How long the operation kept trying, in milliseconds. */
  readonly elapsedMs: number;
  constructor(
    /** The backend operation, for example `storeResult`. */
    readonly operation: string,
    /** The task or group id the operation was about, when there is one. */
    readonly subject: string | undefined,
    /** How many attempts were made. */
    readonly attempts: number,
    options: { cause: unknown; transient?: boolean; elapsedMs?: number },
  ) {
    const about = subject === undefined ? "" : ` for ${subject}`;
    const tries = attempts > 1 ? ` after ${attempts} attempts in ${(Math.round((options.elapsedMs ?? 0) / 100) / 10).toFixed(1)} s` : "";
    const hint = WRITE_OPERATIONS.has(operation)
      ? ". It may still have committed; stores are idempotent, so repeating the call is safe"
      : "";
    super(`${operation}${about} failed${tries}: ${describeCause(options.cause)}${hint}`, { cause: options.cause });
    this.transient = options.transient ?? false;
    this.elapsedMs = options.elapsedMs ?? 0;
  }
}

/** An operation was attempted on (or was waiting when) the backend was closed. */
export class BackendClosedError extends TaskledgerError {
  override name = "BackendClosedError";
  constructor(operation: string) {
    super(`${operation}: the backend is closed; open a new one with openBackend()`);
  }
}

/** Migrations could not be applied, or (with a check) some are pending. */
export class MigrationError extends TaskledgerError {
  override name = "MigrationError";
}

/**
 * `migrate --distribute` (or `distribute: true`) met a server it cannot set up for Citus: no Citus
 * extension, a Citus worker instead of the coordinator, or a dialect without Citus. Nothing was
 * changed.
 */
export class DistributeError extends MigrationError {
  override name = "DistributeError";
}

/**
 * The database has no taskledger tables (or not the configured ones): opened with
 * `migrate: false` before migrating, or a transaction on another database. Nothing was written.
 */
export class MissingTablesError extends MigrationError {
  override name = "MissingTablesError";
  constructor(
    readonly table: string,
    options?: { cause: unknown },
  ) {
    super(
      `table ${table} does not exist in this database. Create the tables first: openBackend() with migrate left on, migrate({ client }) from "taskledger/drizzle" at deploy time, or \`taskledger migrate\`; check tableNames/tableSchemas if they exist under other names.`,
      options,
    );
  }
}

/**
 * A table lacks a column taskledger needs: created by Celery (or an older taskledger) and not
 * migrated since. Nothing was written.
 */
export class MissingColumnError extends MigrationError {
  override name = "MissingColumnError";
  constructor(
    readonly column: string,
    options?: { cause: unknown },
  ) {
    super(
      `column ${column} does not exist: the tables were created by Celery or an older taskledger and not migrated since. Run \`taskledger migrate\` (or openBackend() with migrate left on) to add it; Celery's own columns are never changed.`,
      options,
    );
  }
}

/** Cleanup did not start because another cleanup holds the lock on this database. */
export class CleanupLockedError extends TaskledgerError {
  override name = "CleanupLockedError";
  /** Who holds the lock and whether it is known to be alive, when that could be found out. */
  readonly holder: string | undefined;
  constructor(holder?: string) {
    super(
      `another backend-cleanup is running on this database${holder ? ` (held by ${holder})` : ""}; it was left to finish. Run again later, or pass wait to queue behind it.`,
    );
    this.holder = holder;
  }
}

/** `get()` or `join()` waited longer than its timeout. */
export class TimeoutError extends TaskledgerError {
  override name = "TimeoutError";
  /** The first task that was still not ready. */
  readonly taskId: string;
  constructor(
    /** Every task that was still not ready. */
    readonly pendingTaskIds: readonly string[],
    readonly waitedMs: number,
    total = pendingTaskIds.length,
    /** The database error that was still being waited out when the time ran out, if any. */
    cause?: unknown,
  ) {
    const what =
      total === 1 ? `task ${pendingTaskIds[0]} was` : `${pendingTaskIds.length} of ${total} tasks (first: ${pendingTaskIds[0]}) were`;
    const why =
      cause === undefined
        ? "Raise the timeout or check that a worker is running."
        : `The database could not be read at the end (${cause instanceof Error ? cause.message : String(cause)}).`;
    super(`${what} not ready after waiting ${Math.round(waitedMs)} ms. ${why}`, cause === undefined ? undefined : { cause });
    this.taskId = pendingTaskIds[0]!;
  }
}

/** collect() met a task still not ready after get() returned (an ignored result) while intermediate results were not asked for. */
export class IncompleteStreamError extends TaskledgerError {
  override name = "IncompleteStreamError";
  constructor(readonly taskId: string) {
    super(
      `task ${taskId} in the result graph is not ready (its result is ignored); pass { intermediate: true } to collect() to walk past it.`,
    );
  }
}

/** `get()` was called inside a running task, where waiting on another task can deadlock a worker. */
export class WouldBlockError extends TaskledgerError {
  override name = "WouldBlockError";
  constructor() {
    super(
      "never call result.get() within a task: waiting on another task from inside a task can deadlock the worker pool. Pass { disableSyncSubtasks: false } or wrap the call in allowJoinResult() if you accept the risk.",
    );
  }
}

/** A task was revoked; thrown by `get()` for REVOKED tasks and stored as their result. */
export class TaskRevokedError extends TaskledgerError {
  override name = "TaskRevokedError";
}

/**
 * A task failure rebuilt from its stored form whose type is not in the allowlist (JavaScript's
 * built-in errors plus registered classes). It carries what was stored, and nothing was evaluated.
 */
export class RemoteError extends TaskledgerError {
  override name = "RemoteError";
  constructor(
    readonly excType: string,
    readonly excModule: string | null,
    readonly excMessage: readonly unknown[],
    readonly remoteTraceback: string | null = null,
  ) {
    super(formatExceptionArgs(excMessage));
  }
}

/**
 * An exception's message from its stored arguments (Celery's exc_message), the way Python's
 * str(exc) reads for one argument: `E("custom boom", 42)` reads `custom boom, 42`, not the JSON
 * text `["custom boom",42]`. The arguments themselves stay on the error as
 * `excMessage`. Never throws, whatever the stored values are.
 */
export function formatExceptionArgs(args: readonly unknown[]): string {
  return args.map(formatArg).join(", ");
}

function formatArg(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "None";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value); // a cycle: never let a message stop a listing
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}

/**
 * A value is larger than its column or than the server's max_allowed_packet (MySQL, MariaDB).
 * Thrown before anything is written: the database would otherwise refuse it, or in a non-strict
 * session cut it. The message says which limit to raise.
 */
export class ValueTooLargeError extends TaskledgerError {
  override name = "ValueTooLargeError";
  constructor(
    /** The column (`result`, `args`, …) or `statement` for the packet limit. */
    readonly column: string,
    /** The value's size in bytes, when known before the server refused it. */
    readonly bytes: number | undefined,
    /** The limit it exceeds, in bytes, when known. */
    readonly limit: number | undefined,
    remedy: string,
  ) {
    const size =
      bytes !== undefined && limit !== undefined
        ? ` is ${bytes} bytes, more than the ${limit} bytes allowed`
        : " is too large for its column";
    super(`the ${column} value${size}; nothing was written. ${remedy}`);
  }
}

/** The database server runs with settings taskledger cannot work under safely (MySQL's SQL mode, say). */
export class ServerSettingsError extends TaskledgerError {
  override name = "ServerSettingsError";
}
