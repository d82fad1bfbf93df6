/**
 * What the shared suites (backend, CLI, web) need from a dialect: fresh databases, what the
 * dialect can do, and the few raw operations a test must do behind taskledger's back (corrupt a
 * value, write a row the way Celery would, cause a transient fault, hold a lock). The suites
 * branch on `capabilities` and call these methods; they never read `dialect` except in a title.
 * A new dialect writes one harness (test/helpers/pg-harness.ts and sqlite-harness.ts are the
 * two there are) and a few lines per test file to run the suites on it.
 */
import type { BackendOptions, Capabilities, DatabaseBackend } from "../../src/index.js";
import type { Driver } from "../../src/db/driver.js";

export interface Harness {
  /** The dialect's name, for test titles only: a test that branches on it is wrong (use `capabilities`). */
  readonly dialect: string;
  /** What the dialect can do, read from its driver (src/db/types.ts Capabilities). */
  readonly capabilities: Capabilities;
  /**
   * Facts about this harness's server that capabilities do not say (a scaled-out server such as a
   * Citus coordinator); absent, or a fact absent: true, as on one plain server.
   */
  readonly facts?: HarnessFacts;

  /** A URL for a new, empty database: nothing migrated (SQLite: a file that does not exist yet). */
  freshUrl(label: string): Promise<string>;
  /**
   * A URL for a new database that already holds every migration, as the first openBackend would
   * leave it: a copy of a template migrated once per harness (PostgreSQL `CREATE DATABASE …
   * TEMPLATE`, SQLite a file copy). On PostgreSQL a copy and its first open took 59 ms (median of
   * 10) against 152 ms to create and migrate, interleaved on the loaded 2-core test machine.
   */
  migratedUrl(label: string): Promise<string>;
  /**
   * A new database holding a copy of the one at `url`, which nobody may be connected to (close its
   * backends first): a filled database made once and copied is cheaper than filling each.
   */
  copyOf(url: string, label: string): Promise<string>;
  /** The dialect's migration tags, in order, as `migrate --check` lists them when all are pending. */
  migrationTags(): string[];
  /** Drops every database this harness created (freshUrl, migratedUrl, copyOf, awayableDatabase). */
  cleanup(): Promise<void>;

  /** An error the dialect's driver classes as transient (a reset connection, a busy file). */
  transientError(): Error;
  /** How a CleanupLockedError names a live holder of the lock taken in this process. */
  liveLockHolder(): RegExp;
  /** `url` carrying the password `password`, still reaching the same database (SQLite URLs carry none: unchanged). */
  withPassword(url: string, password: string): string;
  /**
   * URL forms that carry `secret` and still reach the database at `url` (userinfo, percent-encoded,
   * Celery's db+ form, query parameters, TASKLEDGER_URL): the CLI must mask each one.
   */
  secretUrlForms(url: string, secret: string): SecretUrlForm[];

  /** Sets one column of a task row to raw bytes or text, as if another writer had. */
  setRaw(url: string, taskId: string, column: string, value: Buffer | string | number | null): Promise<void>;
  /** Sets the result of a group row to raw bytes. */
  setRawGroup(url: string, groupId: string, value: Buffer): Promise<void>;
  /**
   * Values of the wrong storage class the dialect's columns accept (SQLite keeps any; PostgreSQL's
   * bytea and text columns refuse them): id => [column, value], for setRaw.
   */
  wrongTypeValues(): Record<string, [string, Buffer | string | number]>;
  /** date_done of a row as the database holds it, as text. */
  readDateDoneText(url: string, taskId: string): Promise<string>;
  /** Inserts an unready row the way Celery does: date_done NULL and no taskledger columns. */
  insertCeleryStarted(url: string, taskId: string): Promise<void>;
  /** Runs `operation` so that it meets a transient fault (a killed connection, a held lock) that then clears. */
  withTransientFault<T>(url: string, operation: () => Promise<T>): Promise<T>;
  /** A URL whose every operation meets a transient fault until release() (unreachable or locked). */
  persistentFault(url: string): Promise<{ url: string; release(): Promise<void> }>;
  /** Runs one statement on its own connection, behind taskledger's back; returns its rows. */
  exec(url: string, text: string): Promise<Record<string, unknown>[]>;
  /** Runs one SQL statement behind taskledger's back, as psql or another app would. */
  execRaw(url: string, statement: string): Promise<void>;
  /** Rows in a table. */
  countRows(url: string, table: string): Promise<number>;
  /**
   * A fresh migrated database that a test can take away and bring back: on SQLite another
   * connection holding the write lock, on PostgreSQL a throwaway cluster stopped and restarted.
   */
  awayableDatabase(label: string): Promise<{ url: string; away(): Promise<void>; back(): Promise<void> }>;
  /** Connections open to the database; 0 where a database has no server sessions (SQLite). */
  connectionCount(url: string): Promise<number>;

  /** Kills the connections taskledger holds to receive pushed changes; returns how many (0 without pushedChanges). */
  dropListeners(url: string): Promise<number>;
  /** Connections open to receive pushed changes (0 without pushedChanges). */
  listenerCount(url: string): Promise<number>;

  // Only where capabilities.pushedChanges:
  /** Subscribes to a change channel with a plain client. */
  listen(url: string, channel: string): Promise<RawListener>;

  // Only where capabilities.concurrentWriters or capabilities.sessionLocks (a server holds the locks):
  /** Resolves once `sessions` sessions wait for a lock (a row, a table, a named lock) on the database; rejects after about 5 s. */
  untilLockWaiters(url: string, sessions: number): Promise<void>;

  // Only where capabilities.concurrentWriters:
  /**
   * Moves these hot rows into the archive (expiring in 20 days) inside a transaction left open,
   * as a concurrent mover would, until commit().
   */
  openArchiveMove(url: string, taskIds: string[]): Promise<{ commit(): Promise<void>; end(): Promise<void> }>;

  // Only where capabilities.archivePartitions:
  /** The partitions of a partitioned table, by name. */
  partitionsOf(url: string, table: string): Promise<string[]>;
  /** A transaction left open having read `table`, as a backup does (pg_dump reads each partition); release() ends it. */
  holdReader(url: string, table: string): Promise<{ release(): Promise<void> }>;
}

/** See Harness.facts: each true unless the harness says otherwise. */
export interface HarnessFacts {
  /** A plain SQL commit by another writer is pushed to waiters (false: they see it at their re-read). */
  readonly otherWritersPushed?: boolean;
  /** awayableDatabase is a server of the kind under test (false: it could only be a plain server standing in). */
  readonly awayableIsSame?: boolean;
  /** `taskledger migrate` alone finishes a database's setup (false: the server needs a step more, tested on its own). */
  readonly migrateIsWholeSetup?: boolean;
  /** holdReader's reader is one the archive's partition DDL waits for where the test can measure it. */
  readonly readersHoldDdl?: boolean;
}

/** Whether `harness` has fact `name` (true unless it says otherwise). */
export function hasFact(harness: Harness, name: keyof HarnessFacts): boolean {
  return harness.facts?.[name] !== false;
}

/** A URL form that carries a secret: argv before the command, or TASKLEDGER_URL. */
export interface SecretUrlForm {
  label: string;
  argv: string[];
  env?: string;
}

export type OpenFor = (url: string, options?: Omit<BackendOptions, "url">) => Promise<DatabaseBackend>;

/** OpenFor with the backend's driver passed through `over` first (see test/helpers/driver-spy.ts). */
export type OpenOver = (url: string, options: Omit<BackendOptions, "url">, over: (driver: Driver) => Driver) => Promise<DatabaseBackend>;

export interface RawListener {
  /** Every payload received so far. */
  readonly received: string[];
  /** The next payload not yet returned by next(). */
  next(): Promise<string>;
  close(): Promise<void>;
}

/** The capabilities a backend on `url` reports (opened without migrating, then closed). */
export async function capabilitiesAt(url: string, open: (url: string) => Promise<DatabaseBackend>): Promise<Capabilities> {
  const backend = await open(url);
  try {
    return { ...backend.capabilities };
  } finally {
    await backend.close();
  }
}
