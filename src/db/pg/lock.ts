/**
 * Named locks on PostgreSQL: a session advisory lock on a dedicated connection, released with it.
 * The server ends the lock with the session, so a holder killed with -9 loses it as soon as its
 * connection closes: PostgreSQL needs no heartbeat or liveness check of its own.
 */
import type { HeldLock } from "../driver.js";
import { lockKey } from "../lock-name.js";
import type { LockName } from "../types.js";
import type { PgConnection } from "./borrowed-pool.js";

export async function takeLock(pool: PgConnection, name: LockName, wait: boolean): Promise<HeldLock | undefined> {
  const key = lockKey(name);
  const client = await pool.dedicated();
  try {
    if (wait) {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
    } else {
      const taken = await client.query("SELECT pg_try_advisory_lock(hashtext($1)) AS taken", [key]);
      if (!taken.rows[0].taken) {
        await client.end();
        return undefined;
      }
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let lost = false;
  client.on("error", () => (lost = true));
  client.on("end", () => (lost = true));
  return { lost: () => lost, release: () => client.end().catch(() => undefined) };
}

/** The session holding the lock, from pg_locks, in words; undefined when nobody holds it. */
export async function lockHolder(pool: PgConnection, name: LockName): Promise<string | undefined> {
  // A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits).
  const { rows } = await pool.query<{ pid: number; app: string | null; addr: string | null; since: string | null }>({
    text: `SELECT a.pid, a.application_name AS app, a.client_addr::text AS addr, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
      FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295)
        AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)`,
    values: [lockKey(name)],
  });
  const row = rows[0];
  if (!row) return undefined;
  const from = [
    row.app ? `application ${row.app}` : "",
    row.addr ? `from ${row.addr}` : "",
    row.since ? `connected since ${row.since}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `PostgreSQL session ${row.pid}${from ? ` (${from})` : ""}, which is alive: the server ends the lock with the session`;
}
