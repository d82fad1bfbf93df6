/**
 * Where a PostgreSQL server stands as a streaming replica. Lag is the age of the last replayed
 * transaction, except when replay has caught up with everything received: then 0, since on a
 * quiet primary that age grows while nothing is missing.
 */
import type { ReplicaStatus } from "../types.js";
import type { PgExecutor } from "./executor.js";

export async function replicaStatus(exec: PgExecutor): Promise<ReplicaStatus | undefined> {
  const { rows } = await exec.query<{ standby: boolean; caught_up: boolean | null; lag_ms: string | null; paused: boolean | null }>({
    name: "tl_replica_status",
    text: `SELECT pg_is_in_recovery() AS standby,
        pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up,
        (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::bigint AS lag_ms,
        CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused`,
  });
  const row = rows[0]!;
  if (!row.standby) return undefined;
  const paused = row.paused === true;
  const lagMs = row.caught_up && !paused ? 0 : Math.max(0, Number(row.lag_ms ?? 0));
  return { lagMs, paused };
}
