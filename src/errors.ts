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
    super("url", `${reason} (got "${maskedUrl}"). Use sqlite:<path>, a file path, :memory:, postgres://… or Celery's db+sqlite:///… / db+postgresql://…`);
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
    super(`${reason}: backend.inTransaction(tx) records inside a transaction you opened. Run BEGIN on the client first (or use db.transaction(tx => …)) and call it before COMMIT; outside a transaction use the backend's own methods.`);
  }
}

/** Thrown when a task id or group id is empty or longer than its column (155 characters). */
export class InvalidIdError extends TaskledgerError {
  override name = "InvalidIdError";
  constructor(readonly kind: "task" | "group", readonly id: unknown, reason: string) {
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
    super(`cannot encode value at ${path}: ${reason}. Convert it to plain JSON data (objects, arrays, strings, numbers, booleans, null, Date, Uint8Array, bigint) first.`);
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
    super(`stored ${column} of task ${taskId} cannot be decoded: ${reason}. Inspect the row with \`taskledger show ${taskId}\` or forget it.`);
  }
}

/**
 * A database operation failed: either a permanent error, or a transient one (connection reset,
 * server restart, SQLITE_BUSY) that persisted after every retry.
 */
export class DatabaseError extends TaskledgerError {
  override name = "DatabaseError";
  constructor(
    /** The backend operation, for example `storeResult`. */
    readonly operation: string,
    /** The task or group id the operation was about, when there is one. */
    readonly subject: string | undefined,
    /** How many attempts were made. */
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    const about = subject === undefined ? "" : ` for ${subject}`;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
    super(`${operation}${about} failed${tries}: ${describeCause(options.cause)}`, options);
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
 * The database has no taskledger tables (or not the configured ones): opened with
 * `migrate: false` before migrating, or a transaction on another database. Nothing was written.
 */
export class MissingTablesError extends MigrationError {
  override name = "MissingTablesError";
  constructor(readonly table: string, options?: { cause: unknown }) {
    super(`table ${table} does not exist in this database. Create the tables first: openBackend() with migrate left on, migrate({ client }) from "taskledger/drizzle" at deploy time, or \`taskledger migrate\`; check tableNames/tableSchemas if they exist under other names.`, options);
  }
}

/** Cleanup did not start because another cleanup holds the lock on this database. */
export class CleanupLockedError extends TaskledgerError {
  override name = "CleanupLockedError";
  constructor() {
    super("another backend-cleanup is running on this database; it was left to finish. Run again later, or pass wait to queue behind it.");
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
  ) {
    const what = total === 1 ? `task ${pendingTaskIds[0]} was` : `${pendingTaskIds.length} of ${total} tasks (first: ${pendingTaskIds[0]}) were`;
    super(`${what} not ready after waiting ${Math.round(waitedMs)} ms. Raise the timeout or check that a worker is running.`);
    this.taskId = pendingTaskIds[0]!;
  }
}

/** collect() met a task that is not ready while intermediate results were not asked for. */
export class IncompleteStreamError extends TaskledgerError {
  override name = "IncompleteStreamError";
  constructor(readonly taskId: string) {
    super(`task ${taskId} in the result graph is not ready yet; wait for it or pass { intermediate: true } to collect().`);
  }
}

/** `get()` was called inside a running task, where waiting on another task can deadlock a worker. */
export class WouldBlockError extends TaskledgerError {
  override name = "WouldBlockError";
  constructor() {
    super("never call result.get() within a task: waiting on another task from inside a task can deadlock the worker pool. Pass { disableSyncSubtasks: false } or wrap the call in allowJoinResult() if you accept the risk.");
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
    super(excMessage.length === 1 ? String(excMessage[0]) : JSON.stringify(excMessage));
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
  }
  return String(cause);
}
