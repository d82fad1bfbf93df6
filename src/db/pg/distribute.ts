/**
 * The Citus profile of the PostgreSQL dialect: detecting it, and `migrate --distribute`, which
 * sets a migrated database up on a Citus coordinator so nobody edits SQL by hand.
 *
 * What differs on Citus, and why (each checked on Citus 13.2, README "Scaling out"):
 * - Every table is distributed by task id (the group table by its taskset_id) and co-located, so
 *   a task's row, history, interest, hold and archived rows are on one shard group and a statement
 *   about one task is a router statement: one worker, one-phase commit.
 * - Citus refuses to distribute a table with triggers, and runs none of taskledger's plain ones:
 *   statement-level triggers read transition tables, which Citus cannot plan when the trigger's
 *   statement names a distributed table ("could not find named tuplestore"), and the notify
 *   trigger runs on the worker, where a NOTIFY never reaches the coordinator's LISTEN and makes
 *   the two-phase commit of a multi-shard write fail (0A000). So the task table gets the Citus
 *   form of the history triggers instead: the same transition-table statements, but written into
 *   the co-located history shard by name, so the worker runs them as plain PostgreSQL. They fire
 *   for every writer, Python Celery included. Waking is done by taskledger itself: after its own
 *   ready write it sends the NOTIFY on the coordinator (pg/task-writes.ts), where waiters LISTEN.
 * - Primary keys must contain the distribution column: (id, task_id) and (id, taskset_id).
 * - The archive tier's tables are distributed too, co-located, partitions and all; its moves and
 *   expiry take Citus forms (pg/archive.ts, pg/archive-tier.ts), as do writes to archived ids
 *   (pg/task-writes.ts).
 * - Webhooks (migration 0006) are not delivered on a distributed cluster: their outbox triggers
 *   are plain ones (dropped, as the notify triggers are: Citus refuses to distribute a table with
 *   any), and the dispatcher's claim (FOR UPDATE SKIP LOCKED over ORDER BY … LIMIT) is a statement
 *   Citus cannot run across shards. The webhook and outbox tables stay as they are, local tables
 *   on the coordinator; `--distribute` refuses while a webhook is registered, and registering one
 *   on a distributed database is refused (README, Scaling out).
 */
import { HISTORY_RESULT_STATES, RETRY } from "../../states.js";
import { stateListSql, stateSql } from "../state-sql.js";
import { DistributeError } from "../../errors.js";
import type { DistributeReport } from "../driver.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import { ARCHIVE_MOVE_SETTING, archiveIds, historyArchive } from "./archive.js";
import type { PgConnection, PgSession } from "./borrowed-pool.js";
import { MIGRATE_LOCK_KEY } from "./migrate.js";

/** What the server is, as far as the Citus profile cares. */
export interface CitusState {
  /** The citus extension's version. */
  version: string;
  /** This node is the coordinator (false: a worker, where sequences and DDL do not work). */
  coordinator: boolean;
  /** The task table is a distributed table: taskledger takes the Citus statement forms. */
  distributed: boolean;
}

type Query = PgConnection["query"];

/** undefined when the server has no Citus extension. */
export async function detectCitus(query: Query, t: Tables): Promise<CitusState | undefined> {
  const ext = await query<{ version: string | null }>({
    name: "tl_citus_version",
    text: "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'citus') AS version",
  });
  const version = ext.rows[0]?.version;
  if (!version) return undefined;
  // Only asked once the extension is known to be there: these functions and catalogs are Citus's.
  const state = await query<{ coordinator: boolean; distributed: boolean }>({
    text: `SELECT citus_is_coordinator() AS coordinator,
      EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1)) AS distributed`,
    values: [t.task],
  });
  const row = state.rows[0]!;
  return { version, coordinator: row.coordinator, distributed: row.distributed };
}

/** The error for registering a webhook, or distributing with one registered: no delivery on a distributed cluster. */
export function webhooksError(target: string, registered: number | undefined): DistributeError {
  return new DistributeError(
    registered === undefined
      ? `${target} is distributed by Citus (migrate --distribute), where webhooks are not delivered: their outbox triggers cannot run on the shards. Use status streams or get() instead (README, Scaling out).`
      : `${target} has ${registered} webhook${registered === 1 ? "" : "s"} registered, and webhooks are not delivered on a distributed Citus cluster (README, Scaling out): remove ${registered === 1 ? "it" : "them"} (taskledger webhooks remove) first, then run migrate --distribute again; or keep this database undistributed.`,
  );
}

/** The error for a store sent to a Citus worker: its sequences hand out ids the integer column cannot hold. */
export function workerError(target: string): DistributeError {
  return new DistributeError(
    `${target} is a Citus worker, not the coordinator: taskledger migrates, distributes and writes only through the coordinator (a worker's sequences hand out ids the task table's integer id cannot hold). Point the URL at the coordinator.`,
  );
}

interface Distributed {
  table: string;
  column: string;
  /** Its primary key must be widened to (id, column). */
  widenKey: boolean;
}

/** Every table taskledger keeps, in the order they are distributed (the task table first: the rest co-locate with it). */
function distributedTables(t: Tables): Distributed[] {
  return [
    { table: t.task, column: "task_id", widenKey: true },
    { table: t.group, column: "taskset_id", widenKey: true },
    { table: t.history, column: "task_id", widenKey: true },
    { table: t.interest, column: "task_id", widenKey: false },
    { table: t.hold, column: "task_id", widenKey: false },
    { table: t.archive, column: "task_id", widenKey: false },
    { table: historyArchive(t), column: "task_id", widenKey: false },
    { table: archiveIds(t), column: "task_id", widenKey: false },
  ];
}

/** The trigger names on the task table: the plain forms migrations install, and the Citus forms' (same names for history). */
function triggerNames(t: Tables) {
  const name = (suffix: string) => quoteIdentifier(`${t.config.task}_${suffix}`, "tableNames.task");
  return {
    insert: name("tl_history_insert"),
    update: name("tl_history_update"),
    delete: name("tl_history_delete"),
    notify: name("tl_notify"),
    // Migration 0006's: status-change notify, and the webhook outbox triggers.
    notifyUpdate: name("tl_notify_update"),
    webhookInsert: name("tl_webhook_insert"),
    webhookUpdate: name("tl_webhook_update"),
  };
}

/**
 * The Citus form of the history triggers: functions that write the history shard co-located with
 * the task shard they fire on, found through Citus's metadata (synced to every node). They run on
 * the worker as plain PostgreSQL (shards are plain tables), so transition tables work there, and a
 * distributed query is never nested in a shard's. History ids come from the history sequence of
 * the node the shard is on (Citus gives each node its own range), so a task's entries, all on one
 * shard, keep their order.
 */
export function citusHistoryFunctions(t: Tables, historySequence: string): string[] {
  const shardOf = t.besideTask("colocated_shard");
  const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
  // format() arguments: %1$s the history shard, %2$L the history sequence.
  // Looked up once per session and shard (workers keep the coordinator's connections), in a
  // session setting keyed by the shard's oid: a shard moved or split is a new relation, so a new key.
  const target = "target";
  // Inside format()'s string, so every quote of a literal is doubled.
  const quoted = (text: string) => text.replaceAll("'", "''");
  const reason = (status: string, column: string) =>
    `CASE WHEN ${status} IN ${quoted(stateListSql(HISTORY_RESULT_STATES))} THEN n.${column} END`;
  // No `SET citus.enable_manual_changes_to_shards`: Citus lets its own connections from the
  // coordinator (and local execution) change shards, and those are where these triggers fire.
  // A statement that changed no row (the update a new task's store tries first) returns at once.
  const fn = (suffix: string, settings: string, changed: string, body: string) =>
    `CREATE OR REPLACE FUNCTION ${t.besideTask(suffix)}() RETURNS trigger LANGUAGE plpgsql${settings} AS $tl$
    DECLARE target text;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM ${changed}) THEN RETURN NULL; END IF;
      target := current_setting('taskledger.shard_' || TG_RELID, true);
      IF target IS NULL OR target = '' THEN
        target := ${shardOf}(TG_RELID, ${literal(t.task)}, ${literal(t.history)});
        PERFORM set_config('taskledger.shard_' || TG_RELID, target, false);
      END IF;
      ${body}
      RETURN NULL;
    END $tl$`;
  return [
    // The shard of `target` co-located with the shard `shard` (a shard of `distributed`): same hash
    // range. Not a shard (a table not distributed yet): `target` itself.
    `CREATE OR REPLACE FUNCTION ${shardOf}(shard oid, distributed text, target text) RETURNS text LANGUAGE sql STABLE AS $tl$
      SELECT COALESCE((
        SELECT shard_name(target::regclass, s2.shardid) FROM pg_dist_shard AS s1
        JOIN pg_dist_shard AS s2 ON s2.logicalrelid = target::regclass AND s2.shardminvalue = s1.shardminvalue
        WHERE s1.logicalrelid = distributed::regclass
          AND s1.shardid = substring((SELECT relname FROM pg_class WHERE oid = shard) FROM '_([0-9]+)$')::bigint), target)
    $tl$`,
    fn(
      "citus_history_on_insert",
      "",
      "new_rows",
      `EXECUTE format('INSERT INTO %1$s (id, task_id, status, date, worker, retries, queue, result, traceback)
        SELECT nextval(%2$L), n.task_id, n.status, COALESCE(n.date_updated, n.date_done, timezone(''UTC'', statement_timestamp())),
               n.worker, n.retries, n.queue, ${reason("n.status", "result")}, ${reason("n.status", "traceback")}
        FROM new_rows AS n ORDER BY n.id', ${target}, ${literal(historySequence)});`,
    ),
    // As migrations/pg/0005_history_order.sql: one row per change of state and per retry attempt,
    // dated no earlier than the task's previous event.
    fn(
      "citus_history_on_update",
      "",
      "new_rows",
      `EXECUTE format('INSERT INTO %1$s (id, task_id, status, date, worker, retries, queue, result, traceback)
        SELECT nextval(%2$L), n.task_id, n.status,
               GREATEST(
                 CASE WHEN n.date_updated IS DISTINCT FROM o.date_updated AND n.date_updated IS NOT NULL THEN n.date_updated
                      WHEN n.date_done IS DISTINCT FROM o.date_done AND n.date_done IS NOT NULL THEN n.date_done
                      ELSE timezone(''UTC'', statement_timestamp()) END,
                 (SELECT h.date FROM %1$s AS h WHERE h.task_id = n.task_id ORDER BY h.id DESC LIMIT 1)),
               n.worker, n.retries, n.queue, ${reason("n.status", "result")}, ${reason("n.status", "traceback")}
        FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
        WHERE o.status IS DISTINCT FROM n.status OR n.status = ${quoted(stateSql(RETRY))} OR o.retries IS DISTINCT FROM n.retries
        ORDER BY n.id', ${target}, ${literal(historySequence)});`,
    ),
    // History goes with its task, except in a move into the archive, which takes it along itself.
    fn(
      "citus_history_on_delete",
      "\n      SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off",
      "old_rows",
      `IF current_setting('${ARCHIVE_MOVE_SETTING}', true) = 'on' THEN RETURN NULL; END IF;
      EXECUTE format('DELETE FROM %1$s AS h USING old_rows AS o WHERE h.task_id = o.task_id', ${target});`,
    ),
  ];
}

/**
 * `<task>_citus_interested(task_id)`: whether someone waits for this id, read from the interest
 * shard co-located with the id, on the worker that runs the statement. Called only in the RETURNING
 * list of the Citus single-row insert, so a new task's ready write is one router statement that
 * also says whether to NOTIFY: Citus takes no subquery in an INSERT, and only IMMUTABLE functions
 * in its RETURNING. Declared IMMUTABLE for that reason although it reads a table: it is only ever
 * called on a returned row's column, never on a constant PostgreSQL could fold at plan time.
 */
export function citusInterestFunction(t: Tables): string {
  const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
  return `CREATE OR REPLACE FUNCTION ${citusInterested(t)}(id varchar) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $tl$
    DECLARE waited boolean;
    BEGIN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE task_id = $1)',
        shard_name(${literal(t.interest)}::regclass, get_shard_id_for_distribution_column(${literal(t.interest)}, id)))
        INTO waited USING id;
      RETURN waited;
    END $tl$`;
}

/** The qualified name of citusInterestFunction's function. */
export function citusInterested(t: Tables): string {
  return t.besideTask("citus_interested");
}

/** CREATE TRIGGER statements of the Citus form: history (insert, update) when `history`, the delete trigger always. */
export function citusTriggerStatements(t: Tables, history: boolean): string[] {
  const names = triggerNames(t);
  const create = (name: string, event: string, tables: string, fn: string) =>
    `CREATE TRIGGER ${name} AFTER ${event} ON ${t.task} REFERENCING ${tables} FOR EACH STATEMENT EXECUTE FUNCTION ${t.besideTask(fn)}()`;
  return [
    ...(history
      ? [
          create(names.insert, "INSERT", "NEW TABLE AS new_rows", "citus_history_on_insert"),
          create(names.update, "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "citus_history_on_update"),
        ]
      : []),
    create(names.delete, "DELETE", "OLD TABLE AS old_rows", "citus_history_on_delete"),
  ];
}

/** Drops the history triggers (insert, update), whichever form they have. */
export function dropHistoryTriggers(t: Tables): string[] {
  const names = triggerNames(t);
  return [names.insert, names.update].map((name) => `DROP TRIGGER IF EXISTS ${name} ON ${t.task}`);
}

/**
 * Trigger DDL on a distributed table is refused unless this setting is on: Citus calls triggers
 * "unsafe" because a trigger could reach other shards. These reach only their own shard group.
 */
export const UNSAFE_TRIGGERS = "SET LOCAL citus.enable_unsafe_triggers = on";

/**
 * `migrate --distribute`: on a Citus coordinator, after the migrations (and `--archive`, if asked),
 * distributes every taskledger table that is not yet, and puts the Citus form of the triggers in
 * place of the plain ones. Idempotent: a second run executes nothing. Runs under the migration
 * lock, so two deploys racing on it do it once.
 */
export async function distributePg(pool: PgConnection, t: Tables, target: string): Promise<DistributeReport> {
  const session = await pool.dedicated();
  try {
    await session.query("SELECT pg_advisory_lock(hashtext($1))", [MIGRATE_LOCK_KEY]);
    try {
      return await distributeLocked(session, t, target);
    } finally {
      await session.query("SELECT pg_advisory_unlock(hashtext($1))", [MIGRATE_LOCK_KEY]);
    }
  } finally {
    await session.end().catch(() => undefined);
  }
}

async function distributeLocked(session: PgSession, t: Tables, target: string): Promise<DistributeReport> {
  const state = await detectCitus((config) => session.query(config.text, config.values), t);
  if (!state)
    throw new DistributeError(
      `${target} has no Citus extension. Install Citus on every node, CREATE EXTENSION citus in this database on each, register the workers on the coordinator (README, Scaling out), then run migrate --distribute again; or run migrate without --distribute.`,
    );
  if (!state.coordinator) throw workerError(target);
  const nodes = await session.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND shouldhaveshards",
  );
  if (nodes.rows[0]!.n === 0)
    throw new DistributeError(
      `${target} is a Citus coordinator with no node to hold shards: add the workers first (SELECT citus_add_node('host', port) on the coordinator), then run migrate --distribute again.`,
    );

  // No webhook may be registered: they would silently stop being delivered (see the file's comment).
  const webhookTable = await session.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [t.webhook]);
  if (webhookTable.rows[0]!.present) {
    const count = await session.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.webhook}`);
    if (count.rows[0]!.n > 0) throw webhooksError(target, count.rows[0]!.n);
  }

  const report: DistributeReport = { citusVersion: state.version, distributed: [], already: [], ran: [] };
  const run = async (statement: string, values?: unknown[]) => {
    await session.query(statement, values);
    report.ran.push(statement.replace(/\s+/g, " "));
  };
  const names = triggerNames(t);
  const triggerFunctions = async () =>
    (
      await session.query<{ name: string; fn: string }>(
        `SELECT tgname AS name, tgfoid::regproc::text AS fn FROM pg_trigger WHERE tgrelid = to_regclass($1) AND NOT tgisinternal`,
        [t.task],
      )
    ).rows;
  const before = await triggerFunctions();
  // History stays as it was: on unless someone switched it off (`migrate --no-history`).
  const history = before.some((r) => `"${r.name}"` === names.insert);
  const interestFunction = await session.query<{ present: boolean }>("SELECT to_regprocedure($1) IS NOT NULL AS present", [
    `${citusInterested(t)}(varchar)`,
  ]);
  const citusForm =
    before.filter((r) => r.fn.includes("citus_history_on_")).length === (history ? 3 : 1) && interestFunction.rows[0]!.present;

  const sequence = await session.query<{ seq: string | null }>("SELECT pg_get_serial_sequence($1, 'id') AS seq", [t.history]);
  const historySequence = sequence.rows[0]?.seq;
  if (!historySequence) throw new DistributeError(`${t.history} has no id sequence: run taskledger migrate first, then --distribute`);

  // Triggers first: Citus refuses to distribute a table that has any.
  if (!citusForm) {
    for (const name of Object.values(names))
      if (before.some((r) => `"${r.name}"` === name)) await run(`DROP TRIGGER IF EXISTS ${name} ON ${t.task}`);
  }
  for (const d of distributedTables(t)) {
    const exists = await session.query<{ present: boolean; distributed: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS present,
        EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1)) AS distributed`,
      [d.table],
    );
    const { present, distributed } = exists.rows[0]!;
    if (!present) continue; // the archive's tables, before `--archive`
    if (distributed) {
      report.already.push(d.table);
      continue;
    }
    if (d.widenKey) {
      const key = await session.query<{ name: string; columns: string[] }>(
        `SELECT c.conname AS name, ARRAY(SELECT a.attname::text FROM unnest(c.conkey) AS k JOIN pg_attribute AS a
           ON a.attrelid = c.conrelid AND a.attnum = k) AS columns
         FROM pg_constraint AS c WHERE c.conrelid = to_regclass($1) AND c.contype = 'p'`,
        [d.table],
      );
      const pk = key.rows[0];
      if (pk && !pk.columns.includes(d.column))
        await run(
          `ALTER TABLE ${d.table} DROP CONSTRAINT ${quoteIdentifier(pk.name, "primary key")}, ADD PRIMARY KEY (${pk.columns
            .map((c) => quoteIdentifier(c, "primary key"))
            .join(", ")}, ${d.column})`,
        );
    }
    if (d.table === t.task) await run("SELECT create_distributed_table($1, $2)", [d.table, d.column]);
    else await run("SELECT create_distributed_table($1, $2, colocate_with => $3)", [d.table, d.column, t.task]);
    report.distributed.push(d.table);
  }
  if (!citusForm) {
    await run("BEGIN");
    try {
      await run(UNSAFE_TRIGGERS);
      for (const statement of citusHistoryFunctions(t, historySequence)) await run(statement);
      await run(citusInterestFunction(t));
      for (const statement of citusTriggerStatements(t, history)) await run(statement);
      await run("COMMIT");
    } catch (error) {
      await session.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  }
  return report;
}
