/**
 * taskledger's own mysql2 pool, and standalone connections with a pool's settings (named locks
 * and migrations need a session of their own, never one returned to a pool while it holds a lock).
 */
import mysql from "mysql2/promise";
import type { MysqlPoolLike } from "../external.js";

/** Connection settings read from a `mysql://` URL (config.ts has validated it). */
export function connectionOptions(url: string): mysql.ConnectionOptions {
  const parsed = new URL(url);
  const socket = parsed.searchParams.get("unix_socket");
  const timeout = parsed.searchParams.get("connect_timeout");
  const ssl = parsed.searchParams.get("ssl");
  return {
    ...(socket ? { socketPath: socket } : { host: parsed.hostname.replace(/^\[|\]$/g, ""), port: Number(parsed.port || 3306) }),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    ...(timeout ? { connectTimeout: Number(timeout) * 1000 } : {}),
    ...(ssl && ssl !== "false" && ssl !== "0" ? { ssl: {} } : {}),
    ...SESSION_DEFAULTS,
  };
}

/**
 * FOUND_ROWS off: an upsert the precedence guard refused then reports 0 affected rows instead of
 * 1, so a refused write is told from an insert. Times stay text (naive UTC, see naive-utc.ts).
 * utf8mb4, whatever the server's default, so any task id or traceback round-trips.
 */
const SESSION_DEFAULTS: mysql.ConnectionOptions = {
  flags: ["-FOUND_ROWS"],
  dateStrings: true,
  charset: "UTF8MB4_UNICODE_CI",
  supportBigNumbers: true,
  // The server caps prepared statements for all sessions together (max_prepared_stmt_count,
  // 16,382 by default); variable-length IN lists make new texts, so each connection keeps few.
  maxPreparedStatements: 200,
  enableKeepAlive: true,
};

/**
 * Each session of taskledger's own: strict (a value too long fails instead of being cut),
 * UTC (UTC_TIMESTAMP and NOW agree), READ COMMITTED (an upsert locks the row it finds, not the
 * gap before it, so concurrent first writes of nearby ids do not deadlock).
 */
export const SESSION_SETUP = [
  "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@SESSION.sql_mode, ''), 'STRICT_ALL_TABLES'), time_zone = '+00:00'",
  "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
];

/**
 * maxIdle equal to the pool size: mysql2 then starts no idle reaper, whose one-second timer is
 * never unref'd and kept a process alive that had nothing left but idle connections.
 */
export function createOwnPool(url: string, size: number): MysqlPoolLike {
  const pool = mysql.createPool({ ...connectionOptions(url), connectionLimit: size, maxIdle: size });
  // The callback connection's queries run in order, so these precede whatever the pool sends next.
  pool.pool.on("connection", (connection) => {
    for (const statement of SESSION_SETUP) connection.query(statement, () => undefined);
  });
  // An idle connection does not keep the process alive (as pg.Pool's allowExitOnIdle): a process
  // left with only the cleanup job's unref'd timer exits; a connection in use holds it as before.
  const socket = (connection: unknown) => (connection as { stream?: { ref?(): void; unref?(): void } }).stream;
  pool.pool.on("acquire", (connection) => socket(connection)?.ref?.());
  pool.pool.on("release", (connection) => socket(connection)?.unref?.());
  return pool;
}

/** A standalone connection with the pool's settings (taskledger's own pool, or the application's). */
export async function standaloneConnection(pool: MysqlPoolLike): Promise<mysql.Connection> {
  const config = (pool as unknown as { pool: { config: { connectionConfig: mysql.ConnectionOptions } } }).pool.config.connectionConfig;
  // Only the settings that say where and as whom: mysql2 warns about every other key of its config object.
  const { host, port, socketPath, user, password, database, ssl, connectTimeout } = config;
  const where = socketPath ? { socketPath } : { host, port };
  const connection = await mysql.createConnection({ ...where, user, password, database, ssl, connectTimeout, ...SESSION_DEFAULTS });
  for (const statement of SESSION_SETUP) await connection.query(statement);
  return connection;
}

/** Whether the pool's connections count found rows (mysql2's default) rather than changed rows. */
export function countsFoundRows(pool: MysqlPoolLike): boolean {
  const config = (pool as unknown as { pool?: { config?: { connectionConfig?: { clientFlags?: number } } } }).pool?.config
    ?.connectionConfig;
  // CLIENT_FOUND_ROWS is bit 2 of the client capability flags.
  return ((config?.clientFlags ?? 2) & 2) !== 0;
}
