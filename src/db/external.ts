/**
 * Connections an application brings: a node-postgres Pool, a better-sqlite3 Database, or a
 * drizzle database over either; and the transactions it runs on them (a node-postgres client in a
 * transaction, a better-sqlite3 Database in a transaction, or a drizzle transaction). They are
 * recognised by shape, not by `instanceof`: the application's copy of pg or better-sqlite3 may
 * be another install than taskledger's. The public types below are structural too, so the main
 * entry's declarations never import a driver or drizzle.
 */
import { InvalidClientError, NotInTransactionError } from "../errors.js";
import type { Dialect } from "./types.js";

/** A node-postgres `Pool` (or anything with its query/connect/options shape). */
export interface PgPoolLike {
  query(...args: any[]): Promise<any>;
  connect(): Promise<any>;
  readonly options?: object;
  readonly ended?: boolean;
  readonly ending?: boolean;
}

/** A better-sqlite3 `Database`. */
export interface SqliteDatabaseLike {
  prepare(source: string): any;
  exec(source: string): any;
  transaction(fn: (...args: any[]) => any): any;
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly name: string;
}

/** A drizzle database over node-postgres or better-sqlite3 (drizzle keeps the driver in `$client`). */
export interface DrizzleDatabaseLike {
  readonly $client: PgPoolLike | SqliteDatabaseLike;
}

/** What `openBackend({ client })` accepts. */
export type ConnectionLike = PgPoolLike | SqliteDatabaseLike | DrizzleDatabaseLike;

/** A node-postgres client (`pool.connect()` or `new pg.Client()`) on which BEGIN has run. */
export interface PgClientLike {
  query(...args: any[]): Promise<any>;
  getTransactionStatus?(): string | null;
}

/**
 * What `backend.inTransaction(tx)` accepts: a node-postgres client inside BEGIN…COMMIT, a
 * better-sqlite3 Database inside a transaction, or a drizzle transaction (`db.transaction(tx => …)`)
 * over either. Typed loosely because drizzle keeps its session private.
 */
export type TransactionLike = PgClientLike | SqliteDatabaseLike | object;

export type AdoptedConnection = { dialect: "postgresql"; pool: PgPoolLike } | { dialect: "sqlite"; db: SqliteDatabaseLike };

export type AdoptedTransaction = { dialect: "postgresql"; client: PgClientLike } | { dialect: "sqlite"; db: SqliteDatabaseLike };

function isSqliteDatabase(value: unknown): value is SqliteDatabaseLike {
  const v = value as Partial<SqliteDatabaseLike> | null;
  return typeof v?.prepare === "function" && typeof v.exec === "function" && typeof v.inTransaction === "boolean";
}

function isPgQueryable(value: unknown): value is PgClientLike {
  return typeof (value as PgClientLike | null)?.query === "function";
}

/** A pg.Pool has connect() and per-pool counters; a pg.Client has neither counters nor options. */
function isPgPool(value: unknown): value is PgPoolLike {
  const v = value as Record<string, unknown> | null;
  return isPgQueryable(v) && typeof v?.["connect"] === "function" && "totalCount" in v! && "idleCount" in v;
}

/** Recognises the connection given as `client`, or says what to pass instead. */
export function adoptConnection(client: unknown): AdoptedConnection {
  const raw = (client as Partial<DrizzleDatabaseLike> | null)?.$client ?? client;
  if (isSqliteDatabase(raw)) {
    if (!raw.open)
      throw new InvalidClientError("the better-sqlite3 Database is closed; pass an open one (taskledger never closes it for you)");
    return { dialect: "sqlite", db: raw };
  }
  if (isPgPool(raw)) {
    if (raw.ended || raw.ending)
      throw new InvalidClientError(
        "the pg.Pool has been ended (pool.end() was called); pass an open pool, and end it only after backend.close()",
      );
    return { dialect: "postgresql", pool: raw };
  }
  if (isPgQueryable(raw)) {
    throw new InvalidClientError(
      "a single pg.Client cannot be shared (taskledger needs concurrent queries and a session for locks); pass a pg.Pool, or drizzle(pool)",
    );
  }
  throw new InvalidClientError("expected a pg.Pool, a better-sqlite3 Database, or a drizzle database over either");
}

/**
 * Recognises a caller's transaction and checks that it is open. Drizzle transactions keep the
 * driver connection in `session.client` (NodePgSession, BetterSQLiteSession).
 */
export function adoptTransaction(tx: unknown, expected: Dialect): AdoptedTransaction {
  const session = (tx as { session?: { client?: unknown } } | null)?.session;
  const raw = session?.client ?? tx;
  if (isSqliteDatabase(raw)) {
    if (expected !== "sqlite")
      throw new InvalidClientError(
        "this transaction is on SQLite but the backend is on PostgreSQL; record in a transaction on the backend's database",
        "tx",
      );
    if (!raw.open) throw new NotInTransactionError("the better-sqlite3 Database is closed");
    if (!raw.inTransaction) throw new NotInTransactionError("the better-sqlite3 Database is not inside a transaction");
    return { dialect: "sqlite", db: raw };
  }
  if (isPgPool(raw)) {
    throw new NotInTransactionError(
      "a pg.Pool runs each query on any connection, outside any transaction; pass the client from `await pool.connect()` after BEGIN, or a drizzle transaction",
    );
  }
  if (isPgQueryable(raw)) {
    if (expected !== "postgresql")
      throw new InvalidClientError(
        "this transaction is on PostgreSQL but the backend is on SQLite; record in a transaction on the backend's database",
        "tx",
      );
    return { dialect: "postgresql", client: raw };
  }
  throw new InvalidClientError(
    "expected a node-postgres client in a transaction, a better-sqlite3 Database in a transaction, or a drizzle transaction",
    "tx",
  );
}

/**
 * How to run a transaction on `on` when its transactions are synchronous: a better-sqlite3
 * Database (whose transaction(fn) returns a function to call), or a drizzle database or
 * transaction over one (whose transaction(body) calls the body and commits before it returns).
 * Nothing inside such a transaction can await. undefined for anything else.
 */
export function synchronousTransaction<Tx>(on: unknown): (<R>(body: (tx: Tx) => R) => R) | undefined {
  if (isSqliteDatabase(on)) return (body) => on.transaction(() => body(on as Tx))();
  const v = on as { $client?: unknown; session?: { client?: unknown } } | null;
  if (!isSqliteDatabase(v?.$client ?? v?.session?.client)) return undefined;
  const drizzleDb = on as { transaction<R>(body: (tx: Tx) => R): R };
  return (body) => drizzleDb.transaction(body);
}

/**
 * PostgreSQL's own view of the client's session, from its last ReadyForQuery message ('I' idle,
 * 'T' in a transaction, 'E' in a failed transaction); null when the client does not tell (pg
 * older than 8.13), and then the check is left to the database.
 */
export function pgTransactionStatus(client: PgClientLike): string | null {
  return typeof client.getTransactionStatus === "function" ? client.getTransactionStatus() : null;
}
