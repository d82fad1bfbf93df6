/**
 * The PostgreSQL driver: a node-postgres pool (taskledger's own, or the application's), named
 * prepared statements (./statements.ts), advisory locks for migrations and cleanup. Waking and
 * history are triggers (migrations/pg/0002_history.sql), so they follow every writer's
 * commits, not only ours.
 */
import { likePrefix } from "../audit-overview.js";
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import type { AuditFragments } from "../audit.js";
import { SqlAuditReads, type AuditRow } from "../audit-reads.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  DeleteByRuleParams,
  DeleteExpiredParams,
  Driver,
  GroupRow,
  HeldLock,
  HoldRow,
  LockName,
  MigrationStatus,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  TransactionDriver,
} from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { MigrationError, MissingTablesError, NotInTransactionError } from "../../errors.js";
import { adoptTransaction, pgTransactionStatus, type PgPoolLike } from "../external.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { countByRule, deleteByRule, globToLike } from "../retention.js";
import { countArchivable, countArchiveExpired } from "../archive.js";
import {
  archiveDdl,
  archiveGuardDdl,
  archiveGuardFunctions,
  archiveIds,
  ensurePartitions,
  expireArchive,
  moveToArchive,
} from "./archive.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toHistoryRow, toTaskRow, type RawGroupRow, type RawHistoryRow, type RawTaskRow } from "../rows.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { BorrowedPool, type PgConnection } from "./borrowed-pool.js";
import { ClientPool } from "./client-pool.js";
import { PgDatabaseCheck } from "./database-identity.js";
import { isTransientPgError } from "./errors.js";
import { PgListener } from "./listener.js";
import { lockHolder, takeLock } from "./lock.js";
import { MIGRATE_LOCK_KEY, migratePg } from "./migrate.js";
import { buildStatements, type PgStatements } from "./statements.js";
import { PgWrites, statementNames, type RunQuery } from "./writes.js";

const TIMESTAMP_OID = 1114;
/** How long "no archive here" is believed before it is checked again. */
const ARCHIVE_RECHECK_MS = 30_000;

// Timestamps without time zone come back as text and are read as UTC in naive-utc.ts; the
// default parser would read them in the process's local zone.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID ? (value: string) => value : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export type PgDriverOptions =
  | { url: string; poolSize: number; tables: Tables }
  /** The application's pool: used, never ended. */
  | { pool: PgPoolLike; tables: Tables };

/** Watches nothing: without connection settings there is no LISTEN, and waiters re-read. */
const NO_WATCH: ChangeWatch = {
  ready: Promise.resolve(),
  pause() {},
  resume() {},
  watch: async () => undefined,
  unwatch() {},
  close: async () => undefined,
};

export class PgDriver implements Driver {
  readonly dialect = "postgresql" as const;
  readonly capabilities: Capabilities = {
    pushedChanges: true,
    concurrentWriters: true,
    archivePartitions: true,
    sessionLocks: true,
  };
  readonly pool: PgConnection;
  private readonly sql: PgStatements;
  private readonly names: Record<keyof PgStatements, string>;
  private readonly writes: PgWrites;
  readonly tables: Tables;
  readonly audit: AuditReads;
  /** Every pool query, with a missing table reported as such. */
  private readonly run: RunQuery;

  constructor(options: PgDriverOptions) {
    this.pool =
      "pool" in options
        ? new BorrowedPool(options.pool, types)
        : new ClientPool({ connectionString: options.url, types, application_name: "taskledger" }, options.poolSize);
    this.tables = options.tables;
    this.sql = buildStatements(this.tables);
    this.names = statementNames(this.sql);
    this.writes = new PgWrites(this.sql, this.names, async () => {
      this.archiveKnown = undefined;
      await this.archiveEnabled();
    });
    this.run = <R extends pg.QueryResultRow>(config: pg.QueryConfig) =>
      this.pool.query<R>(config).catch((error: unknown) => this.interpret(error));
    this.audit = new SqlAuditReads(
      this.tables,
      this.fragments,
      (query) => this.query(query),
      () => this.archiveEnabled(),
    );
  }

  /** The channel the notify trigger notifies on; listeners pass it to LISTEN. */
  get notifyChannel(): string {
    return this.tables.channel;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    return this.writes.taskStore(this.run, w, await this.archiveEnabled());
  }

  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    return this.writes.taskStoreMany(this.run, writes, await this.archiveEnabled());
  }

  /** Tells a caller's client on another database from one on ours (inTransaction). */
  private databaseCheck: PgDatabaseCheck | undefined;

  /**
   * Writes on the caller's client, inside the caller's transaction. The client's session
   * state is checked before every statement: a writer kept past COMMIT must not autocommit.
   */
  inTransaction(tx: unknown): TransactionDriver {
    const adopted = adoptTransaction(tx, "postgresql");
    if (adopted.dialect !== "postgresql") throw new Error("unreachable");
    const client = adopted.client;
    const notInside = (status: string | null) => {
      if (status === "I")
        throw new NotInTransactionError("the node-postgres client is not inside a transaction (no BEGIN, or already committed)");
      if (status === "E") throw new NotInTransactionError("the transaction on this client has already failed; roll it back");
    };
    notInside(pgTransactionStatus(client));
    const run: RunQuery = async <R extends pg.QueryResultRow>(config: pg.QueryConfig) => {
      notInside(pgTransactionStatus(client));
      await (this.databaseCheck ??= new PgDatabaseCheck(this.pool)).check(client);
      notInside(pgTransactionStatus(client)); // the caller may have committed while the check ran
      return (client.query({ ...config, types }) as Promise<pg.QueryResult<R>>).catch((error: unknown) => this.interpret(error));
    };
    return {
      taskStore: async (w) => this.writes.taskStore(run, w, await this.archiveEnabled()),
      taskStoreMany: async (ws) => this.writes.taskStoreMany(run, ws, await this.archiveEnabled()),
      groupSave: (row) => this.writes.groupSave(run, row),
      ended: () => undefined,
    };
  }

  async tablesExist(): Promise<boolean> {
    const result = await this.pool.query<{ present: boolean }>({
      text: "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS present",
      values: [this.tables.task, this.tables.group],
    });
    return result.rows[0]!.present;
  }

  /**
   * undefined_table (42P01) becomes MissingTablesError naming the table PostgreSQL names (the
   * hold table, say, on a database migrated before holds); anything else passes through.
   */
  private interpret(error: unknown): never {
    if ((error as { code?: unknown } | null)?.code === "42P01") {
      const named = /relation "([^"]+)" does not exist/.exec((error as Error).message)?.[1];
      throw new MissingTablesError(named ?? this.tables.task, { cause: error });
    }
    throw error;
  }

  /** The hot row, else (with an archive) the latest archived one; see taskGetTiers. */
  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const statement = (await this.archiveEnabled()) ? "taskGetTiers" : "taskGet";
    const row = (await this.run<RawTaskRow>({ name: this.names[statement], text: this.sql[statement], values: [taskId] })).rows[0];
    return row && toTaskRow(row);
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    const statement = (await this.archiveEnabled()) ? "taskGetManyTiers" : "taskGetMany";
    return (await this.run<RawTaskRow>({ name: this.names[statement], text: this.sql[statement], values: [taskIds] })).rows.map(toTaskRow);
  }

  async taskExists(taskId: string): Promise<boolean> {
    const statement = (await this.archiveEnabled()) ? "taskExistsTiers" : "taskExists";
    return ((await this.run({ name: this.names[statement], text: this.sql[statement], values: [taskId] })).rowCount ?? 0) > 0;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    if (await this.archiveEnabled()) {
      const both = await this.run<{ n: number }>({ name: this.names.taskForgetTiers, text: this.sql.taskForgetTiers, values: [taskIds] });
      return both.rows[0]!.n;
    }
    const result = await this.run({ name: this.names.taskForget, text: this.sql.taskForget, values: [taskIds] });
    return result.rowCount ?? 0;
  }

  async taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    const statement = (await this.archiveEnabled()) ? "taskHistoryTiers" : "taskHistory";
    const result = await this.run<RawHistoryRow>({ name: this.names[statement], text: this.sql[statement], values: [taskId] });
    return result.rows.map(toHistoryRow);
  }

  async historyEnabled(): Promise<boolean> {
    return (await this.historyTriggerCount()) === this.tables.historyTriggers.length;
  }

  private async historyTriggerCount(): Promise<number> {
    const result = await this.pool.query<{ n: number }>({
      text: "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = ANY($2::text[])",
      values: [this.tables.task, this.tables.historyTriggers],
    });
    return result.rows[0]!.n;
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  async historySet(on: boolean): Promise<boolean> {
    const n = await this.historyTriggerCount();
    if (on ? n === this.tables.historyTriggers.length : n === 0) return false;
    const client = await this.pool.dedicated();
    try {
      await client.query("BEGIN");
      for (const name of this.tables.historyTriggers)
        await client.query(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")} ON ${this.tables.task}`);
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
    const result = await this.run({
      name: this.names.taskDeleteExpired,
      text: this.sql.taskDeleteExpired,
      values: [toNaiveUtc(p.before), p.limit, p.onlyStatuses ?? null, p.exceptStatuses ?? null],
    });
    return result.rowCount ?? 0;
  }

  taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    return this.count({
      name: this.names.taskCountExpired,
      text: this.sql.taskCountExpired,
      values: [toNaiveUtc(p.before), p.onlyStatuses ?? null, p.exceptStatuses ?? null],
    });
  }

  async taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return Number((await this.query(countByRule(this.tables, this.fragments, p)))[0]?.["n"] ?? 0);
  }

  async taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return Number((await this.query(countArchivable(this.tables, this.fragments, p)))[0]?.["n"] ?? 0);
  }

  taskCountStale(p: { before: Date }): Promise<number> {
    return this.count({ name: this.names.taskCountStale, text: this.sql.taskCountStale, values: [toNaiveUtc(p.before)] });
  }

  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.count({ name: this.names.groupCountExpired, text: this.sql.groupCountExpired, values: [toNaiveUtc(p.before)] });
  }

  async taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    // Not prepared: its text varies with the rules; parsing costs little next to a batch.
    const query = deleteByRule(this.tables, this.fragments, p, (select) => sql`id = ANY(ARRAY(${select}))`);
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.run({ text, values: params })).rowCount ?? 0;
  }

  async taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (p.taskIds.length === 0) return 0;
    const result = await this.run({
      name: this.names.taskHold,
      text: this.sql.taskHold,
      values: [p.taskIds, toNaiveUtc(p.now), p.reason],
    });
    return result.rowCount ?? 0;
  }

  async taskRelease(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return (await this.run({ name: this.names.taskRelease, text: this.sql.taskRelease, values: [taskIds] })).rowCount ?? 0;
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (taskIds.length === 0) return [];
    const result = await this.run<{ task_id: string; held_at: string; reason: string | null }>({
      name: this.names.taskHolds,
      text: this.sql.taskHolds,
      values: [taskIds],
    });
    return result.rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason }));
  }

  private archiveKnown: { present: boolean; at: number } | undefined;

  async archiveEnabled(): Promise<boolean> {
    const known = this.archiveKnown;
    if (known && (known.present || Date.now() - known.at < ARCHIVE_RECHECK_MS)) return known.present;
    const [, supersede] = archiveGuardFunctions(this.tables);
    const result = await this.pool.query<{ present: boolean; guarded: boolean }>({
      name: "tl_archive_present",
      text: "SELECT to_regclass($1) IS NOT NULL AS present, to_regprocedure($2) IS NOT NULL AND to_regclass($3) IS NOT NULL AS guarded",
      values: [this.tables.archive, `${supersede}(varchar[])`, archiveIds(this.tables)],
    });
    const { present, guarded } = result.rows[0]!;
    // An archive made by an older taskledger lacks what every store needs now (archiveGuardDdl):
    // made here once, under the migration lock (filling the index of archived ids reads the
    // archive once; `migrate --archive` does the same ahead of time).
    if (present && !guarded)
      await this.underMigrateLock(archiveGuardDdl(this.tables)).catch((error: unknown) => {
        throw new MigrationError(
          `the archive ${this.tables.archive} predates the index of archived ids that reads and stores now need, and this connection could not add it (${(error as Error).message}); run \`taskledger migrate --archive\` once as a role that owns the archive`,
          { cause: error },
        );
      });
    this.archiveKnown = { present, at: Date.now() };
    return present;
  }

  /** Runs DDL under the migration lock, so two processes never race on it. */
  private async underMigrateLock(statements: readonly string[]): Promise<void> {
    const client = await this.pool.dedicated();
    try {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [MIGRATE_LOCK_KEY]);
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async archiveCreate(now: Date): Promise<void> {
    await this.underMigrateLock(archiveDdl(this.tables));
    await ensurePartitions(this.pool, this.tables, now, new Date(now.getTime() + 31 * 86_400_000), true);
    this.archiveKnown = { present: true, at: Date.now() };
  }

  async archivePrepare(p: { now: Date; maxKeepMs: number }): Promise<string[]> {
    return (await ensurePartitions(this.pool, this.tables, p.now, new Date(p.now.getTime() + p.maxKeepMs))).deferred;
  }

  async taskArchive(p: ArchiveMoveParams): Promise<number> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(moveToArchive(this.tables, this.fragments, p));
    return (await this.run<{ moved: number }>({ text, values: params })).rows[0]?.moved ?? 0;
  }

  async archiveExpire(p: {
    ranked: readonly ArchiveRule[];
    now: Date;
    limit: number;
    maxKeepMs: number;
  }): Promise<{ rows: number; partitions: number; refiled: number; more: boolean; deferred: string[] }> {
    // Whole partitions, so `limit` does not apply: a drop costs the same whatever it holds.
    return { ...(await expireArchive(this.pool, this.tables, this.fragments, p.ranked, p.now, p.maxKeepMs)), more: false };
  }

  async archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    // What expireArchive removes: rows of partitions whose month has passed and of "forever" whose
    // expiry under today's rules and holds is not later than now (the others are filed again).
    const monthStart = toNaiveUtc(new Date(Date.UTC(p.now.getUTCFullYear(), p.now.getUTCMonth(), 1)));
    const due = sql`(expires_at < ${monthStart} OR expires_at = 'infinity'::timestamp)`;
    const query = countArchiveExpired(this.tables, this.fragments, p.ranked, due, (expiry) => sql`${expiry} <= ${toNaiveUtc(p.now)}`);
    return Number((await this.query(query))[0]?.["n"] ?? 0);
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    const result = await this.run({
      name: this.names.taskDeleteStale,
      text: this.sql.taskDeleteStale,
      values: [toNaiveUtc(p.before), p.limit],
    });
    return result.rowCount ?? 0;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    const result = await this.run({
      name: this.names.taskStampUnaged,
      text: this.sql.taskStampUnaged,
      values: [toNaiveUtc(p.now), p.limit],
    });
    return result.rowCount ?? 0;
  }

  groupSave(row: GroupRow): Promise<void> {
    return this.writes.groupSave(this.run, row);
  }

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const result = await this.run<RawGroupRow>({ name: this.names.groupGet, text: this.sql.groupGet, values: [groupId] });
    const row = result.rows[0];
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    const result = await this.run({ name: this.names.groupDelete, text: this.sql.groupDelete, values: [groupId] });
    return (result.rowCount ?? 0) > 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    const result = await this.run({
      name: this.names.groupDeleteExpired,
      text: this.sql.groupDeleteExpired,
      values: [toNaiveUtc(p.before), p.limit],
    });
    return result.rowCount ?? 0;
  }

  migrate(): Promise<MigrationStatus> {
    return migratePg(this.pool, this.tables, { apply: true });
  }

  migrationStatus(): Promise<MigrationStatus> {
    return migratePg(this.pool, this.tables, { apply: false });
  }

  lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined> {
    return takeLock(this.pool, name, options.wait);
  }

  lockHolder(name: LockName): Promise<string | undefined> {
    return lockHolder(this.pool, name);
  }

  /** The SQL pieces audit and retention queries need that differ between dialects. */
  private readonly fragments: AuditFragments = {
    hourBucket: sql`to_char(date_done, 'YYYY-MM-DD HH24')`,
    // extract(epoch) of a naive timestamp reads it as UTC, which is what date_done holds.
    timeBucket: (seconds) => sql`(floor(extract(epoch FROM date_done) / ${seconds}) * ${seconds})::bigint`,
    // LIKE 'prefix%' answers from the varchar_pattern_ops index of migration 0004 in any
    // collation; the unique index on task_id serves LIKE only under the C collation. The escape
    // is written '\\' because a template literal reads '\' as a lone quote: PostgreSQL then got
    // ESCAPE '' and a prefix holding %, _ or \ matched nothing.
    idPrefix: (prefix) => sql`task_id LIKE ${likePrefix(prefix)} ESCAPE '\\'`,
    glob: (column, glob) => sql`${column} LIKE ${globToLike(glob)}`,
    plusMs: (column, ms) => sql`(${column} + ${ms}::bigint * interval '1 millisecond')`,
    forever: sql`'infinity'::timestamp`,
    greatest: (a, b) => sql`GREATEST(${a}, ${b}::timestamp)`,
  };
  private readonly drizzleDialect = new PgDialect();

  /** Runs a cold-path query built with drizzle's `sql` (audit reads, rule deletes, dry-run counts). */
  private async query(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return (await this.run({ text, values: params })).rows;
  }

  private async count(config: pg.QueryConfig): Promise<number> {
    return Number((await this.run<{ n: number }>(config)).rows[0]?.n ?? 0);
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    const config = this.pool.listenConfig;
    return config ? new PgListener(config, this.tables.channel, this.tables.interest, onChange) : NO_WATCH;
  }

  isTransient(error: unknown): boolean {
    return isTransientPgError(error);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
