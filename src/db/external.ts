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

/** A mysql2 `Pool`, callback (`mysql.createPool()`) or promise (`mysql2/promise` or `.promise()`). */
export interface MysqlPoolLike {
  getConnection(...args: any[]): any;
  query(...args: any[]): any;
  execute(...args: any[]): any;
  end(...args: any[]): any;
}

/** A mysql2 connection taken from a pool (`await pool.getConnection()`), callback or promise. */
export interface MysqlConnectionLike {
  query(...args: any[]): any;
  execute(...args: any[]): any;
  release(): void;
}

/** A drizzle database over node-postgres, better-sqlite3 or mysql2 (drizzle keeps the driver in `$client`). */
export interface DrizzleDatabaseLike {
  readonly $client: PgPoolLike | SqliteDatabaseLike | MysqlPoolLike;
}

/** What `openBackend({ client })` accepts. */
export type ConnectionLike = PgPoolLike | SqliteDatabaseLike | MysqlPoolLike | DrizzleDatabaseLike;

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

export type AdoptedConnection =
  | { dialect: "postgresql"; pool: PgPoolLike }
  | { dialect: "sqlite"; db: SqliteDatabaseLike }
  /** Always the promise face of the pool (a callback pool's `.promise()`). */
  | { dialect: "mysql"; pool: MysqlPoolLike };

export type AdoptedTransaction =
  | { dialect: "postgresql"; client: PgClientLike }
  | { dialect: "sqlite"; db: SqliteDatabaseLike }
  /** The promise face of the connection; `inTransaction()` reads the server's own flag (SERVER_STATUS_IN_TRANS). */
  | { dialect: "mysql"; connection: MysqlConnectionLike; inTransaction: () => boolean };

/** The server status bit MySQL sets in every OK/EOF packet while a transaction is open. */
const SERVER_STATUS_IN_TRANS = 0x0001;

type MysqlShape =
  { kind: "pool"; pool: MysqlPoolLike } | { kind: "connection"; connection: MysqlConnectionLike; raw: { serverStatus?: number } };

/**
 * mysql2's objects by shape: a callback pool keeps `_allConnections` and makes a promise face with
 * `.promise()`; a promise pool wraps one in `.pool`; a pool connection has `release()` and a
 * `serverStatus`, itself or in the callback connection a promise one wraps.
 */
function mysqlShape(value: unknown): MysqlShape | undefined {
  const v = value as Record<string, any> | null;
  if (typeof v?.["execute"] !== "function" || typeof v["query"] !== "function") return undefined;
  if (typeof v["getConnection"] === "function") {
    if (typeof v["promise"] === "function" && "_allConnections" in v) return { kind: "pool", pool: v["promise"]() as MysqlPoolLike };
    if (v["pool"] && "_allConnections" in v["pool"]) return { kind: "pool", pool: v as MysqlPoolLike };
    return undefined;
  }
  if (typeof v["release"] !== "function") return undefined;
  if (typeof v["serverStatus"] === "number" && typeof v["promise"] === "function")
    return { kind: "connection", connection: v["promise"]() as MysqlConnectionLike, raw: v };
  if (typeof v["connection"]?.["serverStatus"] === "number")
    return { kind: "connection", connection: v as MysqlConnectionLike, raw: v["connection"] };
  return undefined;
}

/** The mysql2 callback pool under a promise pool, for its closed flag. */
function mysqlPoolClosed(pool: MysqlPoolLike): boolean {
  return Boolean((pool as { pool?: { _closed?: boolean } }).pool?._closed);
}

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
  const mysql = mysqlShape(raw);
  if (mysql?.kind === "pool") {
    if (mysqlPoolClosed(mysql.pool))
      throw new InvalidClientError(
        "the mysql2 pool has been ended (pool.end() was called); pass an open pool, and end it only after backend.close()",
      );
    return { dialect: "mysql", pool: mysql.pool };
  }
  if (mysql?.kind === "connection")
    throw new InvalidClientError(
      "a single mysql2 connection cannot be shared (taskledger needs concurrent queries and a session for locks); pass a mysql2 Pool, or drizzle(pool)",
    );
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
  throw new InvalidClientError("expected a pg.Pool, a better-sqlite3 Database, a mysql2 Pool, or a drizzle database over one of them");
}

/**
 * Recognises a caller's transaction and checks that it is open. Drizzle transactions keep the
 * driver connection in `session.client` (NodePgSession, BetterSQLiteSession).
 */
export function adoptTransaction(tx: unknown, expected: Dialect): AdoptedTransaction {
  const session = (tx as { session?: { client?: unknown } } | null)?.session;
  const raw = session?.client ?? tx;
  const elsewhere = (found: string) =>
    new InvalidClientError(
      `this transaction is on ${found} but the backend is on ${DIALECT_NAMES[expected]}; record in a transaction on the backend's database`,
      "tx",
    );
  const mysql = mysqlShape(raw);
  if (mysql?.kind === "pool")
    throw new NotInTransactionError(
      "a mysql2 Pool runs each query on any connection, outside any transaction; pass the connection from `await pool.getConnection()` after beginTransaction(), or a drizzle transaction",
    );
  if (mysql?.kind === "connection") {
    if (expected !== "mysql") throw elsewhere("MySQL");
    const status = mysql.raw;
    return {
      dialect: "mysql",
      connection: mysql.connection,
      inTransaction: () => ((status.serverStatus ?? 0) & SERVER_STATUS_IN_TRANS) !== 0,
    };
  }
  if (isSqliteDatabase(raw)) {
    if (expected !== "sqlite") throw elsewhere("SQLite");
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
    if (expected !== "postgresql") throw elsewhere("PostgreSQL");
    return { dialect: "postgresql", client: raw };
  }
  throw new InvalidClientError(
    "expected a node-postgres client in a transaction, a better-sqlite3 Database in a transaction, a mysql2 pool connection in a transaction, or a drizzle transaction",
    "tx",
  );
}

const DIALECT_NAMES: Record<Dialect, string> = { postgresql: "PostgreSQL", sqlite: "SQLite", mysql: "MySQL" };

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
