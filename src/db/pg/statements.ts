/**
 * PostgreSQL statements. They run through node-postgres directly, as named prepared statements
 * (parsed once per connection) and with unnest() arrays for batches: drizzle's builder costs
 * 0.65x of raw pg per single upsert and 0.19x on a 10k batch here (research/toolchain.md §6).
 */
import { TASK_COLUMNS } from "../rows.js";
import { notHeldSql } from "../holds.js";
import { precedenceGuard } from "../precedence.js";
import { archiveGuardFunctions, archiveIds, HISTORY_COLUMNS, historyArchive } from "./archive.js";
import type { Tables } from "../tables.js";
import { webhookStatements } from "./webhook-statements.js";
import { citusInterested } from "./distribute.js";

/** The precedence guard (db/precedence.ts) over a row alias's status. */
function guard(current: string, status: string, replaceReady: string): string {
  return precedenceGuard(`${current}.status`, status, replaceReady);
}

/** The SET list of an upsert from a row source (parameters or EXCLUDED); `ext` says whether to write the extended columns. */
function setFrom(src: (column: string, cast: string) => string, ext: string): string {
  return `
      status = ${src("status", "varchar")}, result = ${src("result", "bytea")}, date_done = ${src("date_done", "timestamp")},
      traceback = ${src("traceback", "text")},
      name = CASE WHEN ${ext} THEN ${src("name", "varchar")} ELSE t.name END,
      args = CASE WHEN ${ext} THEN ${src("args", "bytea")} ELSE t.args END,
      kwargs = CASE WHEN ${ext} THEN ${src("kwargs", "bytea")} ELSE t.kwargs END,
      worker = CASE WHEN ${ext} THEN ${src("worker", "varchar")} ELSE t.worker END,
      retries = CASE WHEN ${ext} THEN ${src("retries", "int")} ELSE t.retries END,
      queue = CASE WHEN ${ext} THEN ${src("queue", "varchar")} ELSE t.queue END,
      children = COALESCE(${src("children", "bytea")}, t.children),
      parent_id = COALESCE(${src("parent_id", "varchar")}, t.parent_id),
      group_id = COALESCE(${src("group_id", "varchar")}, t.group_id),
      date_updated = ${src("date_updated", "timestamp")}`;
}

function setFromExcluded(ext: string): string {
  return setFrom((column) => `EXCLUDED.${column}`, ext);
}

export function buildStatements(t: Tables) {
  // Legal holds: a held row is never expired, whatever the rule. Checked where the batch is
  // chosen only: repeating it in the outer WHERE cost 1.88x ctid per batch instead of 1.36x
  // (bench/cleanup-by-key.ts), and a hold committed while one batch statement runs is a race any
  // placement of the check has.
  const notHeld = notHeldSql(t.hold, `${t.task}.task_id`);
  // Finished before `before`, limited to `only` states and never `except` ones (NULL: no limit).
  const expired = (before: string, only: string, except: string) =>
    `date_done < ${before}::timestamp AND (${only}::varchar[] IS NULL OR status = ANY(${only}::varchar[]))
      AND (${except}::varchar[] IS NULL OR status IS NULL OR NOT (status = ANY(${except}::varchar[])))`;
  // Unready rows last written before $1.
  const stale = "date_done IS NULL AND date_updated < $1::timestamp";

  // A new hot row for an id the archive holds (stored again after it was archived) supersedes the
  // archived row: it keeps what the write does not say, as an update of the hot row would.
  const carried = (src: (column: string, cast: string) => string, ext: string) =>
    [
      src("task_id", "varchar"),
      src("status", "varchar"),
      src("result", "bytea"),
      src("date_done", "timestamp"),
      src("traceback", "text"),
      ...(
        [
          ["name", "varchar"],
          ["args", "bytea"],
          ["kwargs", "bytea"],
          ["worker", "varchar"],
          ["retries", "int"],
          ["queue", "varchar"],
        ] as const
      ).map(([column, cast]) => `CASE WHEN ${ext} THEN ${src(column, cast)} ELSE a.${column} END`),
      ...(
        [
          ["children", "bytea"],
          ["parent_id", "varchar"],
          ["group_id", "varchar"],
        ] as const
      ).map(([column, cast]) => `COALESCE(${src(column, cast)}, a.${column})`),
      src("date_updated", "timestamp"),
    ].join(", ");
  // The archive is reached through functions, and only for ids in the index of archived ids
  // (pg/archive.ts archiveGuardDdl): a store never locks the archive's partitions unless the id
  // was archived.
  const [archivedRows, supersede] = archiveGuardFunctions(t);

  // True once the archive exists: the store statements made for a database without one write no
  // new hot row then, and say so, so a process that has not noticed the archive yet (it checks
  // every 30 s) cannot store a late STARTED past an archived SUCCESS. One catalog lookup, no lock.
  const noArchive = `to_regclass('${t.archive.replaceAll("'", "''")}') IS NULL`;
  // A batch's rows from its 15 parallel arrays, in TASK_COLUMNS order.
  const batchInput = `input AS (
        SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::bytea[], $4::timestamp[], $5::text[], $6::varchar[], $7::bytea[],
                             $8::bytea[], $9::varchar[], $10::int[], $11::varchar[], $12::bytea[], $13::varchar[], $14::varchar[],
                             $15::timestamp[])
          AS i(${TASK_COLUMNS})
      )`;
  const params: Record<string, string> = {
    task_id: "$1",
    status: "$2",
    result: "$3",
    date_done: "$4",
    traceback: "$5",
    name: "$6",
    args: "$7",
    kwargs: "$8",
    worker: "$9",
    retries: "$10",
    queue: "$11",
    children: "$12",
    parent_id: "$13",
    group_id: "$14",
    date_updated: "$15",
  };
  const param = (column: string, cast: string) => `${params[column]}::${cast}`;
  const excluded = (column: string) => `EXCLUDED.${column}`;

  return {
    /**
     * One statement, one implicit transaction: update the row if it exists (so an update draws no
     * id from the sequence), else insert it; a racing insert lands in ON CONFLICT; both paths
     * carry the precedence guard. Waking waiters is the notify trigger's job: it notifies
     * only ids someone waits for, so this statement carries no NOTIFY of its own.
     * $16 extended, $17 replaceReady.
     */
    taskStore: `
      WITH updated AS (
        UPDATE ${t.task} AS t SET ${setFrom(param, "$16::boolean")}
        WHERE t.task_id = $1::varchar AND ${guard("t", "$2::varchar", "$17::boolean")}
        RETURNING 1
      ), inserted AS (
        INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
        SELECT nextval('${t.taskSequence}'), $1::varchar, $2::varchar, $3::bytea, $4::timestamp, $5::text,
               $6::varchar, $7::bytea, $8::bytea, $9::varchar, $10::int, $11::varchar, $12::bytea, $13::varchar, $14::varchar, $15::timestamp
        WHERE NOT EXISTS (SELECT 1 FROM updated) AND ${noArchive}
        ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
        WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS written, NOT ${noArchive} AS archived`,

    /**
     * taskStore once the archive exists: the precedence guard holds across tiers. A late STARTED or
     * RETRY for a task whose SUCCESS was archived would otherwise make a new hot row, and the task
     * would read STARTED again. With no hot row in the snapshot and the id in the index of archived
     * ids, the latest archived row judges the write, and a new hot row supersedes it. A new row is
     * never inserted for an id the snapshot saw hot: when that row changed or left meanwhile (a
     * concurrent move took it, and this snapshot cannot see the archived copy yet), `raced` says so
     * and PgWrites runs the statement again on a new snapshot.
     */
    taskStoreTiers: `
      WITH seen AS (
        SELECT t.status FROM ${t.task} AS t WHERE t.task_id = $1::varchar
      ), updated AS (
        UPDATE ${t.task} AS t SET ${setFrom(param, "$16::boolean")}
        WHERE t.task_id = $1::varchar AND ${guard("t", "$2::varchar", "$17::boolean")}
        RETURNING 1
      ), archived AS (
        SELECT a.* FROM ${archivedRows}(ARRAY[$1::varchar]) AS a
        WHERE NOT EXISTS (SELECT 1 FROM seen) AND EXISTS (SELECT 1 FROM ${archiveIds(t)} AS x WHERE x.task_id = $1::varchar)
      ), inserted AS (
        INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
        SELECT nextval('${t.taskSequence}'), ${carried(param, "$16::boolean")}
        FROM (SELECT 1) AS one LEFT JOIN archived AS a ON true
        WHERE NOT EXISTS (SELECT 1 FROM updated) AND NOT EXISTS (SELECT 1 FROM seen) AND ${guard("a", "$2::varchar", "$17::boolean")}
        ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
        WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}
        RETURNING 1
      ), superseded AS (
        SELECT ${supersede}(ARRAY(SELECT a.task_id FROM archived AS a)) AS n
        WHERE EXISTS (SELECT 1 FROM archived) AND EXISTS (SELECT 1 FROM inserted)
      )
      SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted) AS written, (SELECT count(*) FROM superseded) AS superseded,
        EXISTS (SELECT 1 FROM seen AS s WHERE ${guard("s", "$2::varchar", "$17::boolean")}) AND NOT EXISTS (SELECT 1 FROM updated) AS raced`,

    /**
     * Many rows from parallel arrays (unnest): one statement whatever the count, far below the
     * 65,535 bind-parameter limit. Rows go in task_id order, so concurrent batches over the same
     * ids take their row locks in one order: unordered, two such batches deadlocked (40P01) again
     * on every retry in the fault suite's precedence race. Ids must be distinct (ON CONFLICT may touch a row once), and
     * extended ($16) and replaceReady ($17) hold for the whole batch.
     */
    taskStoreMany: `
      WITH ${batchInput}, written AS (
        INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
        SELECT nextval('${t.taskSequence}'), ${TASK_COLUMNS} FROM input WHERE ${noArchive} ORDER BY task_id
        ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
        WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}
        RETURNING 1
      )
      SELECT count(*)::int AS written, NOT ${noArchive} AS archived FROM written`,

    /**
     * taskStoreMany once the archive exists, with taskStoreTiers' guard across tiers: each row is
     * judged by the hot row the snapshot saw, else by the latest archived row, which a new hot row
     * then supersedes. Batches without request metadata take it too (the archived row's columns
     * must carry over). Unlike taskStoreTiers it keeps ON CONFLICT for rows seen hot (task_id
     * order, one lock order for concurrent batches), so one whose hot row a concurrent move took
     * is inserted anew: `raced` names those, and taskStoreManySettle completes them at once.
     */
    taskStoreManyTiers: `
      WITH ${batchInput}, seen AS (
        SELECT t.task_id, t.status FROM ${t.task} AS t WHERE t.task_id = ANY($1::varchar[])
      ), archived AS (
        SELECT a.* FROM ${archivedRows}(ARRAY(
          SELECT DISTINCT x.task_id FROM ${archiveIds(t)} AS x
          WHERE x.task_id = ANY($1::varchar[]) AND NOT EXISTS (SELECT 1 FROM seen AS s WHERE s.task_id = x.task_id))) AS a
      ), written AS (
        INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
        SELECT nextval('${t.taskSequence}'), ${carried((column) => `i.${column}`, "$16::boolean")}
        FROM input AS i LEFT JOIN seen AS s ON s.task_id = i.task_id LEFT JOIN archived AS a ON a.task_id = i.task_id
        WHERE ${guard("s", "i.status", "$17::boolean")} AND ${guard("a", "i.status", "$17::boolean")}
        ORDER BY i.task_id
        ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
        WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}
        RETURNING t.task_id, t.xmax = 0 AS fresh
      ), superseded AS (
        SELECT ${supersede}(ARRAY(SELECT a.task_id FROM archived AS a JOIN written AS w ON w.task_id = a.task_id)) AS n
        WHERE EXISTS (SELECT 1 FROM archived)
      )
      SELECT (SELECT count(*) FROM written)::int AS written, (SELECT count(*) FROM superseded) AS superseded,
        ARRAY(SELECT w.task_id FROM written AS w JOIN seen AS s ON s.task_id = w.task_id WHERE w.fresh) AS raced`,

    /**
     * After taskStoreManyTiers, for the ids it found hot but inserted anew ($1): a concurrent move
     * took their hot rows into the archive between the batch's snapshot and its write. The guard
     * held (it judged the status the move took), but the archived row is still there: the new hot
     * row takes what the write left out from it (not retries: a change of retries is a history
     * event), and it goes, as taskStoreTiers' supersede does in the same statement.
     */
    taskStoreManySettle: `
      WITH archived AS (
        SELECT a.* FROM ${archivedRows}($1::varchar[]) AS a
      ), carried AS (
        UPDATE ${t.task} AS t SET ${["name", "args", "kwargs", "worker", "queue", "children", "parent_id", "group_id"]
          .map((column) => `${column} = COALESCE(t.${column}, a.${column})`)
          .join(", ")}
        FROM archived AS a WHERE t.task_id = a.task_id
      )
      SELECT ${supersede}(ARRAY(SELECT a.task_id FROM archived AS a)) AS superseded`,

    /**
     * taskStoreMany for batches without request metadata (no extended or lineage columns to
     * write, so those keep what the rows hold): 6 arrays instead of 15, about a third less time
     * per row. $7 replaceReady.
     */
    taskStoreManyLean: `
      WITH written AS (
        INSERT INTO ${t.task} AS t (id, task_id, status, result, date_done, traceback, date_updated)
        SELECT nextval('${t.taskSequence}'), i.* FROM unnest($1::varchar[], $2::varchar[], $3::bytea[], $4::timestamp[], $5::text[], $6::timestamp[])
          AS i(task_id, status, result, date_done, traceback, date_updated) WHERE ${noArchive} ORDER BY i.task_id
        ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, date_done = EXCLUDED.date_done,
          traceback = EXCLUDED.traceback, date_updated = EXCLUDED.date_updated
        WHERE ${guard("t", "EXCLUDED.status", "$7::boolean")}
        RETURNING 1
      )
      SELECT count(*)::int AS written, NOT ${noArchive} AS archived FROM written`,

    /**
     * The Citus profile's single-row store (pg/distribute.ts), first step: Citus routes a statement
     * to one shard only without INSERT CTEs, so taskStore's upsert is split in two router
     * statements. This one updates the hot row under the precedence guard and says, from the same
     * shard group, whether there is a hot row at all (none: taskStoreCitusInsert follows), whether
     * someone waits for the id (taskledger then NOTIFYs on the coordinator), and whether the archive
     * exists (a process that has not noticed it must not insert past an archived row).
     * $16 extended, $17 replaceReady.
     */
    taskStoreCitus: `
      WITH updated AS (
        UPDATE ${t.task} AS t SET ${setFrom(param, "$16::boolean")}
        WHERE t.task_id = $1::varchar AND ${guard("t", "$2::varchar", "$17::boolean")}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM updated)::int AS updated, EXISTS (SELECT 1 FROM ${t.task} AS s WHERE s.task_id = $1::varchar) AS hot,
        (SELECT s.status FROM ${t.task} AS s WHERE s.task_id = $1::varchar) AS hot_status,
        EXISTS (SELECT 1 FROM ${t.interest} AS i WHERE i.task_id = $1::varchar) AS interested, NOT ${noArchive} AS archived`,
    /** taskStoreCitus once the archive exists: `archived` says whether this id has archived rows. */
    taskStoreCitusTiers: `
      WITH updated AS (
        UPDATE ${t.task} AS t SET ${setFrom(param, "$16::boolean")}
        WHERE t.task_id = $1::varchar AND ${guard("t", "$2::varchar", "$17::boolean")}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM updated)::int AS updated, EXISTS (SELECT 1 FROM ${t.task} AS s WHERE s.task_id = $1::varchar) AS hot,
        (SELECT s.status FROM ${t.task} AS s WHERE s.task_id = $1::varchar) AS hot_status,
        EXISTS (SELECT 1 FROM ${t.interest} AS i WHERE i.task_id = $1::varchar) AS interested,
        EXISTS (SELECT 1 FROM ${archiveIds(t)} AS x WHERE x.task_id = $1::varchar) AS archived`,
    /**
     * The latest archived row of one id, on Citus: a router statement. Not through the archive's
     * functions, which Citus would run on a worker, where they cannot query distributed tables.
     */
    taskArchivedCitus: `
      SELECT ${TASK_COLUMNS} FROM ${t.archive} WHERE task_id = $1::varchar ORDER BY archived_at DESC, id DESC LIMIT 1`,
    /**
     * supersede() on Citus, as router statements in the caller's transaction (PgWrites): the
     * archived rows of one id go, their history back to the history table (ids kept, so its order
     * holds), their entries in the index of archived ids last. `left` tells whether a concurrent
     * refile moved a row past this snapshot: then it runs again, as the function's loop does.
     */
    taskSupersedeRowsCitus: `
      WITH gone AS (DELETE FROM ${t.archive} WHERE task_id = $1::varchar RETURNING 1)
      SELECT (SELECT count(*) FROM gone)::int AS gone`,
    taskSupersedeLeftCitus: `SELECT EXISTS (SELECT 1 FROM ${t.archive} WHERE task_id = $1::varchar) AS left`,
    taskSupersedeHistoryCitus: `
      INSERT INTO ${t.history} (${HISTORY_COLUMNS}) OVERRIDING SYSTEM VALUE
      SELECT ${HISTORY_COLUMNS} FROM ${historyArchive(t)} WHERE task_id = $1::varchar`,
    taskSupersedeHistoryGoneCitus: `DELETE FROM ${historyArchive(t)} WHERE task_id = $1::varchar`,
    taskSupersedeIdsCitus: `DELETE FROM ${archiveIds(t)} WHERE task_id = $1::varchar`,
    /** taskGetTiers on Citus: every table co-located and filtered by one id, so a router statement. */
    taskGetTiersCitus: `
      SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = $1::varchar
      UNION ALL
      (SELECT ${TASK_COLUMNS} FROM ${t.archive} AS a
       WHERE a.task_id = $1::varchar AND NOT EXISTS (SELECT 1 FROM ${t.task} AS h WHERE h.task_id = $1::varchar)
       ORDER BY a.archived_at DESC, a.id DESC LIMIT 1)`,
    /** taskGetManyTiers on Citus: both halves joined on the distribution column, so each runs on the shards. */
    taskGetManyTiersCitus: `
      SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = ANY($1::varchar[])
      UNION ALL
      (SELECT DISTINCT ON (a.task_id) ${TASK_COLUMNS.split(", ")
        .map((c) => `a.${c}`)
        .join(", ")} FROM ${t.archive} AS a
       WHERE a.task_id = ANY($1::varchar[]) AND NOT EXISTS (SELECT 1 FROM ${t.task} AS h WHERE h.task_id = a.task_id)
       ORDER BY a.task_id, a.archived_at DESC, a.id DESC)`,
    /** Which of these ids have archived rows. */
    taskArchivedIdsCitus: `SELECT DISTINCT task_id FROM ${archiveIds(t)} WHERE task_id = ANY($1::varchar[])`,
    /** A new hot row takes what its write left out from the archived row it replaces (not retries: a change of it is a history event). */
    taskCarryCitus: `
      UPDATE ${t.task} SET ${CARRIED.map((column, i) => `${column} = COALESCE(${column}, $${i + 2})`).join(", ")}
      WHERE task_id = $1::varchar`,
    /** Takes back a row a batch inserted where the archived row it did not see refuses it. */
    taskUndoCitus: `DELETE FROM ${t.task} WHERE task_id = $1::varchar AND id = $2::int`,
    /**
     * The Citus profile's second step, for an id with no hot row: a plain INSERT … VALUES, which
     * Citus routes to one shard (the id is drawn on the coordinator). A racing insert lands in ON
     * CONFLICT under the guard, as in taskStore.
     */
    taskStoreCitusInsert: `
      INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
      VALUES (nextval('${t.taskSequence}'), $1::varchar, $2::varchar, $3::bytea, $4::timestamp, $5::text, $6::varchar, $7::bytea, $8::bytea,
              $9::varchar, $10::int, $11::varchar, $12::bytea, $13::varchar, $14::varchar, $15::timestamp)
      ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
      WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}`,
    /**
     * taskStoreCitusInsert for a ready write: one router statement that also says whether someone
     * waits for the id (pg/distribute.ts citusInterestFunction), so the NOTIFY can follow.
     */
    taskStoreCitusInsertReady: `
      INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS})
      VALUES (nextval('${t.taskSequence}'), $1::varchar, $2::varchar, $3::bytea, $4::timestamp, $5::text, $6::varchar, $7::bytea, $8::bytea,
              $9::varchar, $10::int, $11::varchar, $12::bytea, $13::varchar, $14::varchar, $15::timestamp)
      ON CONFLICT (task_id) DO UPDATE SET ${setFrom(excluded, "$16::boolean")}
      WHERE ${guard("t", "EXCLUDED.status", "$17::boolean")}
      RETURNING ${citusInterested(t)}(t.task_id) AS interested`,
    /** Which of these ids someone waits for (Citus: taskledger NOTIFYs for them on the coordinator). */
    taskInterest: `SELECT DISTINCT task_id FROM ${t.interest} WHERE task_id = ANY($1::varchar[])`,
    /** Wakes waiters on this connection's server; inside a transaction, at its commit. */
    notify: `SELECT pg_notify($1::text, $2::text)`,

    taskGet: `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = $1::varchar`,
    taskGetMany: `SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = ANY($1::varchar[])`,
    taskExists: `SELECT 1 FROM ${t.task} WHERE task_id = $1::varchar`,
    taskForget: `DELETE FROM ${t.task} WHERE task_id = ANY($1::varchar[])`,
    // Written by the history triggers (migrations/pg/0002_history.sql), in order of change.
    taskHistory: `SELECT task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history} WHERE task_id = $1::varchar ORDER BY id`,
    // What a status stream has not sent yet: the (task_id, id) index, per task, from the cursor on.
    taskHistoryAfter: `
      SELECT id, task_id, status, date, worker, retries, queue, result, traceback FROM ${t.history}
      WHERE task_id = ANY($1::varchar[]) AND id > $2::bigint ORDER BY id LIMIT $3::int`,
    taskHistoryLatestId: `SELECT COALESCE(max(id), 0) AS id FROM ${t.history} WHERE task_id = ANY($1::varchar[])`,
    // With the archive an archived task's history is in the history archive; ids keep their order.
    taskHistoryTiers: `
      SELECT task_id, status, date, worker, retries, queue, result, traceback FROM (
        SELECT ${HISTORY_COLUMNS} FROM ${t.history} WHERE task_id = $1::varchar
        UNION ALL
        SELECT ${HISTORY_COLUMNS} FROM ${historyArchive(t)} WHERE task_id = $1::varchar
      ) AS h ORDER BY id`,
    // Reads across tiers once the archive exists: the hot row, else the latest archived row, in
    // one statement and so one snapshot (a row superseded or moved meanwhile is in one tier or the
    // other, never in neither). The archive is reached through <task>_archived and only for ids in
    // the index of archived ids, so a read of a hot or unknown id never locks the archive's
    // partitions, and never queues behind archive DDL waiting for its lock (12.6 s behind a
    // pg_dump, measured when reads named the archive).
    taskGetTiers: `
      SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = $1::varchar
      UNION ALL
      SELECT ${TASK_COLUMNS} FROM ${archivedRows}(ARRAY[$1::varchar]) AS a
      WHERE NOT EXISTS (SELECT 1 FROM ${t.task} WHERE task_id = $1::varchar)
        AND EXISTS (SELECT 1 FROM ${archiveIds(t)} AS x WHERE x.task_id = $1::varchar)`,
    taskGetManyTiers: `
      SELECT ${TASK_COLUMNS} FROM ${t.task} WHERE task_id = ANY($1::varchar[])
      UNION ALL
      SELECT ${TASK_COLUMNS} FROM ${archivedRows}(ARRAY(
        SELECT DISTINCT x.task_id FROM ${archiveIds(t)} AS x
        WHERE x.task_id = ANY($1::varchar[]) AND NOT EXISTS (SELECT 1 FROM ${t.task} AS h WHERE h.task_id = x.task_id))) AS a`,
    taskExistsTiers: `
      SELECT 1 FROM ${t.task} WHERE task_id = $1::varchar UNION ALL (SELECT 1 FROM ${archiveIds(t)} WHERE task_id = $1::varchar LIMIT 1) LIMIT 1`,
    taskForgetTiers: `
      WITH hot AS (DELETE FROM ${t.task} WHERE task_id = ANY($1::varchar[]) RETURNING task_id),
        cold AS (DELETE FROM ${t.archive} WHERE task_id = ANY($1::varchar[]) RETURNING task_id),
        history AS (DELETE FROM ${t.history} WHERE task_id = ANY($1::varchar[])),
        cold_history AS (DELETE FROM ${historyArchive(t)} WHERE task_id = ANY($1::varchar[])),
        unindexed AS (DELETE FROM ${archiveIds(t)} WHERE task_id = ANY($1::varchar[]))
      SELECT count(DISTINCT task_id)::int AS n FROM (SELECT task_id FROM hot UNION ALL SELECT task_id FROM cold) AS gone`,
    // Oldest first on the date_done index, a bounded batch per statement. The batch is named by
    // key (id, the primary key) from an ARRAY(...) of the batch: `id IN (SELECT …)` let the planner
    // hash the whole table on every batch (300–400 ms per 5,000 rows on 1M rows; this way one
    // index probe per row). Not by ctid, as before batches were named by key: a ctid is unique only inside one partition,
    // so on a table partitioned by hash of task_id a batch of 10 deleted 23 rows, fresh ones among
    // them, and Citus refuses ctid modifications outright. Not by task_id: 5,000 probes of
    // the varchar index cost 2.3x the integer ones (73 ms against 32 ms per batch here). The outer
    // WHERE repeats the predicate, so only rows that qualify ever go, even if a partitioned table
    // held two rows with one id, and a row a writer changes meanwhile is judged on its new version
    // (READ COMMITTED re-checks the WHERE on the updated row). No FOR UPDATE: locking the batch
    // first cost 40% more per batch. bench/cleanup-by-key.ts measures this against ctid.
    taskDeleteExpired: `
      DELETE FROM ${t.task} WHERE id = ANY(ARRAY(
        SELECT id FROM ${t.task} WHERE ${expired("$1", "$3", "$4")} AND ${notHeld}
        ORDER BY date_done LIMIT $2::int))
        AND ${expired("$1", "$3", "$4")}`,
    // The dry run's twins: the deletes' own predicates, counted.
    taskCountExpired: `SELECT count(*)::int AS n FROM ${t.task} WHERE ${expired("$1", "$2", "$3")} AND ${notHeld}`,
    taskDeleteStale: `
      DELETE FROM ${t.task} WHERE id = ANY(ARRAY(
        SELECT id FROM ${t.task} WHERE ${stale} AND ${notHeld}
        ORDER BY date_updated LIMIT $2::int))
        AND ${stale}`,
    taskCountStale: `SELECT count(*)::int AS n FROM ${t.task} WHERE ${stale} AND ${notHeld}`,
    taskStampUnaged: `
      UPDATE ${t.task} SET date_updated = $1::timestamp WHERE id = ANY(ARRAY(
        SELECT id FROM ${t.task} WHERE date_done IS NULL AND date_updated IS NULL LIMIT $2::int))
        AND date_done IS NULL AND date_updated IS NULL`,

    taskHold: `
      INSERT INTO ${t.hold} (task_id, held_at, reason) SELECT DISTINCT unnest($1::varchar[]), $2::timestamp, $3::text
      ON CONFLICT (task_id) DO NOTHING RETURNING task_id`,
    taskRelease: `DELETE FROM ${t.hold} WHERE task_id = ANY($1::varchar[])`,
    taskHolds: `SELECT task_id, held_at, reason FROM ${t.hold} WHERE task_id = ANY($1::varchar[])`,

    groupSave: `
      INSERT INTO ${t.group} AS g (id, taskset_id, result, date_done)
      VALUES (nextval('${t.groupSequence}'), $1::varchar, $2::bytea, $3::timestamp)
      ON CONFLICT (taskset_id) DO UPDATE SET result = EXCLUDED.result, date_done = EXCLUDED.date_done`,
    groupGet: `SELECT taskset_id, result, date_done FROM ${t.group} WHERE taskset_id = $1::varchar`,
    groupDelete: `DELETE FROM ${t.group} WHERE taskset_id = $1::varchar`,
    groupDeleteExpired: `
      DELETE FROM ${t.group} WHERE id = ANY(ARRAY(
        SELECT id FROM ${t.group} WHERE date_done < $1::timestamp ORDER BY date_done LIMIT $2::int))
        AND date_done < $1::timestamp`,
    groupCountExpired: `SELECT count(*)::int AS n FROM ${t.group} WHERE date_done < $1::timestamp`,
    ...webhookStatements(t),
  };
}

export type PgStatements = ReturnType<typeof buildStatements>;

/** The columns a new hot row takes from the archived row it replaces when its write leaves them out (Citus batches). */
export const CARRIED = ["name", "args", "kwargs", "worker", "queue", "children", "parent_id", "group_id"] as const;

/** Rows per multi-row INSERT of the Citus batch store: 15 parameters a row, well under the 65,535 a statement takes. */
export const CITUS_BATCH_ROWS = 2000;

/**
 * The Citus profile's batch store: a multi-row INSERT … VALUES, which Citus splits by shard and
 * sends to each shard as one statement (INSERT … SELECT FROM unnest, the plain form, went through
 * an intermediate result on every worker: 0.9–1.2 s for 1,000 rows). Ids are drawn on the
 * coordinator. Rows in task_id order, so concurrent batches lock rows in one order; ids distinct.
 * The last two parameters are extended and replaceReady for the whole batch.
 */
export function citusStoreManyStatement(t: Tables, rows: number): string {
  const casts = [
    "varchar",
    "varchar",
    "bytea",
    "timestamp",
    "text",
    "varchar",
    "bytea",
    "bytea",
    "varchar",
    "int",
    "varchar",
    "bytea",
    "varchar",
    "varchar",
    "timestamp",
  ];
  const values = Array.from(
    { length: rows },
    (_, r) => `(nextval('${t.taskSequence}'), ${casts.map((cast, c) => `$${r * casts.length + c + 1}::${cast}`).join(", ")})`,
  ).join(",\n");
  const extended = `$${rows * casts.length + 1}::boolean`;
  const replaceReady = `$${rows * casts.length + 2}::boolean`;
  return `INSERT INTO ${t.task} AS t (id, ${TASK_COLUMNS}) VALUES ${values}
    ON CONFLICT (task_id) DO UPDATE SET ${setFromExcluded(extended)}
    WHERE ${precedenceGuard("t.status", "EXCLUDED.status", replaceReady)}
    RETURNING t.task_id, t.status, t.id, t.xmax = 0 AS fresh`;
}
