/**
 * What the shared backend suite needs from a dialect: fresh databases, and the few raw
 * operations a test must do behind taskledger's back (corrupt a value, write a row the way
 * Celery would, cause a transient fault). Everything else in the suite is dialect-blind.
 */
import type { BackendOptions, DatabaseBackend } from "../../src/index.js";
import type { Driver } from "../../src/db/driver.js";

export interface Harness {
  dialect: "postgresql" | "sqlite";
  /**
   * PostgreSQL through a Citus coordinator, its tables distributed (`migrate --distribute`): the
   * few tests that cannot work there skip, saying why.
   */
  citus?: boolean;
  /**
   * A URL for a new database: empty, except on Citus, where it is migrated and distributed unless
   * `empty` (a test about a database without taskledger's tables).
   */
  freshUrl(label: string, options?: { empty?: boolean }): Promise<string>;
  /** Sets one column of a task row to raw bytes or text, as if another writer had. */
  setRaw(url: string, taskId: string, column: string, value: Buffer | string | number | null): Promise<void>;
  /** Sets the result of a group row to raw bytes. */
  setRawGroup(url: string, groupId: string, value: Buffer): Promise<void>;
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
  /**
   * A fresh migrated database that a test can take away and bring back: on SQLite another
   * connection holding the write lock, on PostgreSQL a throwaway cluster stopped and restarted.
   */
  awayableDatabase(label: string): Promise<{ url: string; away(): Promise<void>; back(): Promise<void> }>;
  /** Connections open to the database (PostgreSQL); 0 where that does not apply (SQLite). */
  connectionCount(url: string): Promise<number>;
  /** Kills the LISTEN connections taskledger holds (PostgreSQL); returns how many. */
  dropListeners(url: string): Promise<number>;
  /** LISTEN connections currently open (PostgreSQL). */
  listenerCount(url: string): Promise<number>;
  /** Runs one SQL statement behind taskledger's back, as psql or another app would. */
  execRaw(url: string, statement: string): Promise<void>;
  /** Rows in a table. */
  countRows(url: string, table: string): Promise<number>;
  /** LISTENs on a channel with a plain client (PostgreSQL only). */
  listen(url: string, channel: string): Promise<RawListener>;
  /** Drops what freshUrl created. */
  cleanup(): Promise<void>;
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
