/**
 * The PostgreSQL driver: a node-postgres pool, named prepared statements (./statements.ts),
 * advisory locks for migrations and cleanup. Waking and history are triggers (#11,
 * migrations/pg/0002_history.sql), so they follow every writer's commits, not only ours.
 */
import { likePrefix } from "../audit-overview.js";
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import type { AuditFragments } from "../audit.js";
import type { AuditRow, DeleteExpiredParams, Driver, GroupRow, HeldLock, MigrationStatus, TaskHistoryRow, TaskRow, TaskWrite } from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toHistoryRow, toTaskRow, type RawGroupRow, type RawHistoryRow, type RawTaskRow } from "../rows.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { ClientPool } from "./client-pool.js";
import { isTransientPgError } from "./errors.js";
import { PgListener } from "./listener.js";
import { migratePg } from "./migrate.js";
import { buildStatements, type PgStatements } from "./statements.js";

const TIMESTAMP_OID = 1114;
const CLEANUP_LOCK_KEY = "taskledger.cleanup";

// Timestamps without time zone come back as text and are read as UTC in naive-utc.ts; the
// default parser would read them in the process's local zone.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID ? (value: string) => value : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export interface PgDriverOptions {
  url: string;
  poolSize: number;
  tables: Tables;
}


export class PgDriver implements Driver {
  readonly dialect = "postgresql" as const;
  readonly concurrentWriters = true;
  readonly supportsNotify = true;
  readonly pool: ClientPool;
  private readonly sql: PgStatements;
  readonly tables: Tables;

  constructor(private readonly options: PgDriverOptions) {
    this.pool = new ClientPool({ connectionString: options.url, types, application_name: "taskledger" }, options.poolSize);
    this.tables = options.tables;
    this.sql = buildStatements(this.tables);
  }

  /** The channel the notify trigger notifies on; listeners pass it to LISTEN. */
  get notifyChannel(): string {
    return this.tables.channel;
  }

  /** A connection string for a dedicated LISTEN client. */
  get connectionString(): string {
    return this.options.url;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    const result = await this.pool.query({ name: "tl_task_store", text: this.sql.taskStore, values: [...writeValues(w), w.extended !== null, w.replaceReady] });
    return (result.rowCount ?? 0) > 0;
  }

  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    let written = 0;
    // extended and replaceReady are per statement, and a batch with no request metadata at all
    // takes the lean statement, so a mixed batch becomes one statement per kind.
    const isLean = (w: TaskWrite) => w.extended === null && w.children === null && w.parentId === null && w.groupId === null;
    for (const batch of groupBy(writes, (w) => `${w.extended !== null}:${w.replaceReady}:${isLean(w)}`)) {
      const first = batch[0]!;
      const lean = isLean(first);
      const values = lean ? leanValues : writeValues;
      const columns: unknown[][] = Array.from({ length: lean ? 6 : 15 }, () => []);
      for (const w of batch) values(w).forEach((value, i) => columns[i]!.push(value));
      const result = await this.pool.query<{ written: number }>(
        lean
          ? { name: "tl_task_store_many_lean", text: this.sql.taskStoreManyLean, values: [...columns, first.replaceReady] }
          : { name: "tl_task_store_many", text: this.sql.taskStoreMany, values: [...columns, first.extended !== null, first.replaceReady] },
      );
      written += result.rows[0]!.written;
    }
    return written;
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const result = await this.pool.query<RawTaskRow>({ name: "tl_task_get", text: this.sql.taskGet, values: [taskId] });
    const row = result.rows[0];
    return row ? toTaskRow(row) : undefined;
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    const result = await this.pool.query<RawTaskRow>({ name: "tl_task_get_many", text: this.sql.taskGetMany, values: [taskIds] });
    return result.rows.map(toTaskRow);
  }

  async taskExists(taskId: string): Promise<boolean> {
    const result = await this.pool.query({ name: "tl_task_exists", text: this.sql.taskExists, values: [taskId] });
    return (result.rowCount ?? 0) > 0;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    const result = await this.pool.query({ name: "tl_task_forget", text: this.sql.taskForget, values: [taskIds] });
    return result.rowCount ?? 0;
  }

  async taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    const result = await this.pool.query<RawHistoryRow>({ name: "tl_task_history", text: this.sql.taskHistory, values: [taskId] });
    return result.rows.map(toHistoryRow);
  }

  async historyEnabled(): Promise<boolean> {
    return (await this.historyTriggerCount()) === this.tables.historyTriggers.length;
  }

  private async historyTriggerCount(): Promise<number> {
    const result = await this.pool.query<{ n: number }>(
      { text: "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = ANY($2::text[])", values: [this.tables.task, this.tables.historyTriggers] },
    );
    return result.rows[0]!.n;
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  async historySet(on: boolean): Promise<boolean> {
    const n = await this.historyTriggerCount();
    if (on ? n === this.tables.historyTriggers.length : n === 0) return false;
    const client = await this.pool.dedicated();
    try {
      await client.query("BEGIN");
      for (const name of this.tables.historyTriggers) await client.query(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")} ON ${this.tables.task}`);
      if (on) for (const statement of historyTriggerStatements("postgresql", this.tables)) await client.query(statement);
      await client.query("COMMIT");
      return true;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    const result = await this.pool.query({
      name: "tl_task_delete_expired",
      text: this.sql.taskDeleteExpired,
      values: [toNaiveUtc(p.before), p.limit, p.onlyStatuses ?? null, p.exceptStatuses ?? null],
    });
    return result.rowCount ?? 0;
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    const result = await this.pool.query({ name: "tl_task_delete_stale", text: this.sql.taskDeleteStale, values: [toNaiveUtc(p.before), p.limit] });
    return result.rowCount ?? 0;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    const result = await this.pool.query({ name: "tl_task_stamp_unaged", text: this.sql.taskStampUnaged, values: [toNaiveUtc(p.now), p.limit] });
    return result.rowCount ?? 0;
  }

  async groupSave(row: GroupRow): Promise<void> {
    await this.pool.query({ name: "tl_group_save", text: this.sql.groupSave, values: [row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone)] });
  }

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const result = await this.pool.query<RawGroupRow>({ name: "tl_group_get", text: this.sql.groupGet, values: [groupId] });
    const row = result.rows[0];
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    const result = await this.pool.query({ name: "tl_group_delete", text: this.sql.groupDelete, values: [groupId] });
    return (result.rowCount ?? 0) > 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    const result = await this.pool.query({ name: "tl_group_delete_expired", text: this.sql.groupDeleteExpired, values: [toNaiveUtc(p.before), p.limit] });
    return result.rowCount ?? 0;
  }

  migrate(): Promise<MigrationStatus> {
    return migratePg(this.pool, this.tables, { apply: true });
  }

  migrationStatus(): Promise<MigrationStatus> {
    return migratePg(this.pool, this.tables, { apply: false });
  }

  /** A session advisory lock on a dedicated connection, released with it. */
  async cleanupLock(wait: boolean): Promise<HeldLock | undefined> {
    const client = await this.pool.dedicated();
    try {
      if (wait) {
        await client.query("SELECT pg_advisory_lock(hashtext($1))", [CLEANUP_LOCK_KEY]);
      } else {
        const taken = await client.query("SELECT pg_try_advisory_lock(hashtext($1)) AS taken", [CLEANUP_LOCK_KEY]);
        if (!taken.rows[0].taken) {
          await client.end();
          return undefined;
        }
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    // The server ends the lock with the session: a holder killed with -9 loses it as soon as its
    // connection closes, so PostgreSQL needs no liveness check of its own (#9 item 7).
    let lost = false;
    client.on("error", () => (lost = true));
    client.on("end", () => (lost = true));
    return { lost: () => lost, release: () => client.end().catch(() => undefined) };
  }

  async cleanupLockHolder(): Promise<string | undefined> {
    // A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits).
    const { rows } = await this.pool.query<{ pid: number; app: string | null; addr: string | null; since: string | null }>({
      text: `SELECT a.pid, a.application_name AS app, a.client_addr::text AS addr, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295)
          AND l.objid::bigint = (hashtext($1)::bigint & 4294967295)`,
      values: [CLEANUP_LOCK_KEY],
    });
    const row = rows[0];
    if (!row) return undefined;
    const from = [row.app ? `application ${row.app}` : "", row.addr ? `from ${row.addr}` : "", row.since ? `connected since ${row.since}` : ""].filter(Boolean).join(", ");
    return `PostgreSQL session ${row.pid}${from ? ` (${from})` : ""}, which is alive: the server ends the lock with the session`;
  }

  readonly auditFragments: AuditFragments = {
    hourBucket: sql`to_char(date_done, 'YYYY-MM-DD HH24')`,
    // extract(epoch) of a naive timestamp reads it as UTC, which is what date_done holds.
    timeBucket: (seconds) => sql`(floor(extract(epoch FROM date_done) / ${seconds}) * ${seconds})::bigint`,
    // LIKE 'prefix%' answers from the varchar_pattern_ops index of migration 0004 (#14) in any
    // collation; the unique index on task_id serves LIKE only under the C collation.
    idPrefix: (prefix) => sql`task_id LIKE ${likePrefix(prefix)} ESCAPE '\'`,
  };
  private readonly drizzleDialect = new PgDialect();

  async audit(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.pool.query({ text, values: params })).rows;
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new PgListener(this.options.url, this.tables.channel, this.tables.interest, onChange);
  }

  isTransient(error: unknown): boolean {
    return isTransientPgError(error);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function writeValues(w: TaskWrite): unknown[] {
  const x = w.extended;
  return [
    w.taskId, w.status, w.result, w.dateDone && toNaiveUtc(w.dateDone), w.traceback,
    x?.name ?? null, x?.args ?? null, x?.kwargs ?? null, x?.worker ?? null, x?.retries ?? null, x?.queue ?? null,
    w.children, w.parentId, w.groupId, toNaiveUtc(w.dateUpdated),
  ];
}


/** taskStoreManyLean's columns: task_id, status, result, date_done, traceback, date_updated. */
function leanValues(w: TaskWrite): unknown[] {
  return [w.taskId, w.status, w.result, w.dateDone && toNaiveUtc(w.dateDone), w.traceback, toNaiveUtc(w.dateUpdated)];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}
