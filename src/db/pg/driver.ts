/**
 * The PostgreSQL driver: a node-postgres pool, named prepared statements (./statements.ts),
 * advisory locks for migrations and cleanup, and NOTIFY on every committed store.
 */
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import type { AuditFragments } from "../audit.js";
import type { ArchiveMoveParams, ArchiveRule, AuditRow, DeleteByRuleParams, DeleteExpiredParams, Driver, GroupRow, HeldLock, HoldRow, MigrationStatus, TaskRow, TaskWrite } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { deleteByRule, globToLike } from "../retention.js";
import { moveToArchive } from "../archive.js";
import { archiveDdl, ensurePartitions, expireArchive } from "./archive.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toTaskRow, type RawGroupRow, type RawTaskRow } from "../rows.js";
import type { Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { ClientPool } from "./client-pool.js";
import { isTransientPgError } from "./errors.js";
import { PgListener } from "./listener.js";
import { migratePg } from "./migrate.js";
import { buildStatements, type PgStatements } from "./statements.js";

const TIMESTAMP_OID = 1114;
/** How long "no archive here" is believed before it is checked again. */
const ARCHIVE_RECHECK_MS = 30_000;
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

  /** The channel stores NOTIFY on; listeners pass it to LISTEN. */
  get notifyChannel(): string {
    return this.tables.channel;
  }

  /** A connection string for a dedicated LISTEN client. */
  get connectionString(): string {
    return this.options.url;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    const result = await this.pool.query({ name: "tl_task_store", text: this.sql.taskStore, values: [...writeValues(w), w.extended !== null, w.replaceReady, this.tables.channel] });
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
          ? { name: "tl_task_store_many_lean", text: this.sql.taskStoreManyLean, values: [...columns, first.replaceReady, this.tables.channel] }
          : { name: "tl_task_store_many", text: this.sql.taskStoreMany, values: [...columns, first.extended !== null, first.replaceReady, this.tables.channel] },
      );
      written += result.rows[0]!.written;
    }
    return written;
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const tiers = await this.archiveEnabled();
    const result = await this.pool.query<RawTaskRow>(tiers ? { name: "tl_task_get_tiers", text: this.sql.taskGetTiers, values: [taskId] } : { name: "tl_task_get", text: this.sql.taskGet, values: [taskId] });
    const row = result.rows[0];
    return row ? toTaskRow(row) : undefined;
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    const tiers = await this.archiveEnabled();
    const result = await this.pool.query<RawTaskRow>(tiers ? { name: "tl_task_get_many_tiers", text: this.sql.taskGetManyTiers, values: [taskIds] } : { name: "tl_task_get_many", text: this.sql.taskGetMany, values: [taskIds] });
    if (!tiers) return result.rows.map(toTaskRow);
    // An id in both tiers: the hot row (read last) wins.
    return [...new Map(result.rows.map((row) => [row.task_id, toTaskRow(row)])).values()];
  }

  async taskExists(taskId: string): Promise<boolean> {
    const tiers = await this.archiveEnabled();
    const result = await this.pool.query(tiers ? { name: "tl_task_exists_tiers", text: this.sql.taskExistsTiers, values: [taskId] } : { name: "tl_task_exists", text: this.sql.taskExists, values: [taskId] });
    return (result.rowCount ?? 0) > 0;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    if (await this.archiveEnabled()) {
      const both = await this.pool.query<{ n: number }>({ name: "tl_task_forget_tiers", text: this.sql.taskForgetTiers, values: [taskIds] });
      return both.rows[0]!.n;
    }
    const result = await this.pool.query({ name: "tl_task_forget", text: this.sql.taskForget, values: [taskIds] });
    return result.rowCount ?? 0;
  }

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    const result = await this.pool.query({
      name: "tl_task_delete_expired",
      text: this.sql.taskDeleteExpired,
      values: [toNaiveUtc(p.before), p.limit, p.onlyStatuses ?? null, p.exceptStatuses ?? null],
    });
    return result.rowCount ?? 0;
  }

  async taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    // Not prepared: its text varies with the rules; parsing costs little next to a batch.
    const query = deleteByRule(this.tables, this.auditFragments, p, (select) => sql`id = ANY(ARRAY(${select}))`);
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.pool.query({ text, values: params })).rowCount ?? 0;
  }

  async taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (p.taskIds.length === 0) return 0;
    const result = await this.pool.query({ name: "tl_task_hold", text: this.sql.taskHold, values: [p.taskIds, toNaiveUtc(p.now), p.reason] });
    return result.rowCount ?? 0;
  }

  async taskRelease(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return (await this.pool.query({ name: "tl_task_release", text: this.sql.taskRelease, values: [taskIds] })).rowCount ?? 0;
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (taskIds.length === 0) return [];
    const result = await this.pool.query<{ task_id: string; held_at: string; reason: string | null }>({ name: "tl_task_holds", text: this.sql.taskHolds, values: [taskIds] });
    return result.rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason }));
  }

  private archiveKnown: { present: boolean; at: number } | undefined;

  async archiveEnabled(): Promise<boolean> {
    const known = this.archiveKnown;
    if (known && (known.present || Date.now() - known.at < ARCHIVE_RECHECK_MS)) return known.present;
    const result = await this.pool.query<{ present: boolean }>({ name: "tl_archive_present", text: "SELECT to_regclass($1) IS NOT NULL AS present", values: [this.tables.archive] });
    this.archiveKnown = { present: result.rows[0]!.present, at: Date.now() };
    return this.archiveKnown.present;
  }

  async archiveCreate(now: Date): Promise<void> {
    const client = await this.pool.dedicated();
    try {
      // Under the migration lock, so two `migrate --archive` runs never race on the DDL.
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [`taskledger.migrate:${this.tables.migrations}`]);
      for (const statement of archiveDdl(this.tables)) await client.query(statement);
    } finally {
      await client.end().catch(() => undefined);
    }
    await ensurePartitions(this.pool, this.tables, now, new Date(now.getTime() + 31 * 86_400_000));
    this.archiveKnown = { present: true, at: Date.now() };
  }

  async taskArchive(p: ArchiveMoveParams): Promise<number> {
    await ensurePartitions(this.pool, this.tables, p.now, new Date(p.now.getTime() + p.maxKeepMs));
    const query = moveToArchive(this.tables, this.auditFragments, p, (select) => sql`id = ANY(ARRAY(${select}))`);
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.pool.query({ text, values: params })).rowCount ?? 0;
  }

  async archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number; maxKeepMs: number }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean }> {
    // Whole partitions, so `limit` does not apply: a drop costs the same whatever it holds.
    return { ...(await expireArchive(this.pool, this.tables, this.auditFragments, p.ranked, p.now, p.maxKeepMs)), more: false };
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
    // Ending the session releases the lock, also when the connection is already gone.
    return { release: () => client.end().catch(() => undefined) };
  }

  readonly auditFragments: AuditFragments = {
    hourBucket: sql`to_char(date_done, 'YYYY-MM-DD HH24')`,
    glob: (column, glob) => sql`${column} LIKE ${globToLike(glob)}`,
    plusMs: (column, ms) => sql`(${column} + ${ms}::bigint * interval '1 millisecond')`,
    forever: sql`'infinity'::timestamp`,
    greatest: (a, b) => sql`GREATEST(${a}, ${b}::timestamp)`,
  };
  private readonly drizzleDialect = new PgDialect();

  async audit(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.pool.query({ text, values: params })).rows;
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new PgListener(this.options.url, this.tables.channel, onChange);
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
