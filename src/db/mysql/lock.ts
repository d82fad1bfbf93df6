/**
 * Named locks (GET_LOCK) on a connection of their own. They belong to the server session, not to
 * a transaction, and end with it: a holder killed with -9 loses the lock as soon as its connection
 * closes, so no lease or heartbeat is needed. Lock names are server-wide (not per database) and at
 * most 64 characters, so a name carries the database and the table set, hashed where too long.
 */
import { createHash } from "node:crypto";
import type mysql from "mysql2/promise";
import type { HeldLock } from "../driver.js";
import type { MysqlPoolLike } from "../external.js";
import type { Tables } from "../tables.js";
import { standaloneConnection } from "./pool.js";

/** How long one GET_LOCK call waits before asking again (a wait is a loop of these). */
const WAIT_STEP_S = 5;

/** The lock name for `purpose` on this database and table set. */
export async function lockName(pool: MysqlPoolLike, t: Tables, purpose: string): Promise<string> {
  const [rows] = (await pool.query("SELECT DATABASE() AS db")) as unknown as [{ db: string | null }[]];
  const scope = `${t.config.taskSchema ?? rows[0]?.db ?? ""}.${t.config.task}`;
  const name = `taskledger.${purpose}.${scope}`;
  return name.length <= 64 ? name : `taskledger.${purpose}.${createHash("sha256").update(scope).digest("hex").slice(0, 32)}`;
}

/**
 * Takes the named lock on a new connection; undefined when another session holds it and `wait`
 * is false. The connection closes when the lock is released.
 */
export async function takeNamedLock(
  pool: MysqlPoolLike,
  name: string,
  wait: boolean,
): Promise<{ connection: mysql.Connection; lock: HeldLock } | undefined> {
  const connection = await standaloneConnection(pool);
  try {
    for (;;) {
      const [rows] = (await connection.query("SELECT GET_LOCK(?, ?) AS taken", [name, wait ? WAIT_STEP_S : 0])) as unknown as [
        { taken: number | null }[],
      ];
      if (rows[0]?.taken === 1) break;
      if (!wait) {
        await connection.end().catch(() => undefined);
        return undefined;
      }
    }
  } catch (error) {
    connection.destroy();
    throw error;
  }
  let lost = false;
  connection.on("error", () => (lost = true));
  connection.on("end", () => (lost = true));
  return {
    connection,
    lock: {
      lost: () => lost,
      release: async () => {
        await connection.query("SELECT RELEASE_LOCK(?)", [name]).catch(() => undefined);
        await connection.end().catch(() => connection.destroy());
      },
    },
  };
}

/** Who holds the named lock, from the process list; undefined when free. */
export async function namedLockHolder(pool: MysqlPoolLike, name: string): Promise<string | undefined> {
  const [rows] = (await pool.query(
    `SELECT l.id, p.USER AS user, p.HOST AS host, p.TIME AS seconds FROM (SELECT IS_USED_LOCK(?) AS id) AS l
      LEFT JOIN information_schema.PROCESSLIST AS p ON p.ID = l.id`,
    [name],
  )) as unknown as [{ id: number | null; user: string | null; host: string | null; seconds: number | null }[]];
  const row = rows[0];
  if (!row || row.id === null) return undefined;
  const from = [
    row.user ? `user ${row.user}` : "",
    row.host ? `from ${row.host}` : "",
    row.seconds !== null ? `in its current state for ${row.seconds} s` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `MySQL connection ${row.id}${from ? ` (${from})` : ""}, which is alive: the server ends the lock with the session`;
}
