/**
 * The MySQL / MariaDB driver: a mysql2 pool (taskledger's own, or the application's), every
 * statement through one executor (./executor.ts), named locks (GET_LOCK) for migrations and
 * cleanup, history and waking by row triggers (migrations/mysql), so they follow every writer's
 * commits, Celery's too. Written against MariaDB 10.11; MySQL 8 differs where the README says.
 */
import { DatabaseMismatchError, NotInTransactionError } from "../../errors.js";
import { SqlAuditReads, type AuditRow } from "../audit-reads.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  ChangeListener,
  ChangeWatch,
  DeleteByRuleParams,
  DeleteExpiredParams,
  Driver,
  GroupRow,
  HeldLock,
  HoldRow,
  LockName,
  ReplicaStatus,
  MigrationStatus,
  OutboxRow,
  TaskHistoryEntry,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  TransactionDriver,
  WebhookMatch,
  WebhookRow,
} from "../driver.js";
import { adoptTransaction, type MysqlConnectionLike, type MysqlPoolLike } from "../external.js";
import type { Tables } from "../tables.js";
import { TIER_COLUMNS } from "../archive.js";
import { toTaskRow, type RawTaskRow } from "../rows.js";
import { MysqlArchiveTier } from "./archive-tier.js";
import { MysqlChangePoller } from "./changes.js";
import { MysqlExpiry } from "./expiry.js";
import { MysqlGroups } from "./groups.js";
import { MYSQL_FRAGMENTS } from "./fragments.js";
import { isTransientMysqlError } from "./errors.js";
import { MysqlExecutor, readServerFacts, type ServerFacts } from "./executor.js";
import { historySet, historyTriggerCount, taskHistory, taskHistoryAfter, taskHistoryLatestId } from "./history.js";
import { taskHold, taskHolds, taskRelease } from "./holds.js";
import { checkedLockName } from "../lock-name.js";
import { lockName, namedLockHolder, takeNamedLock } from "./lock.js";
import { migrateMysql, widenMysql } from "./migrate.js";
import { countsFoundRows, createOwnPool } from "./pool.js";
import { buildStatements, listSlices, placeholders, type MysqlStatements } from "./statements.js";
import { taskExists, taskForget, taskGet, taskGetMany } from "./task-reads.js";
import { MysqlTaskWrites, readColumnLimits, type ColumnLimits } from "./task-writes.js";
import { MysqlWebhooks } from "./webhooks.js";

export type MysqlDriverOptions =
  | { url: string; poolSize: number; tables: Tables }
  /** The application's pool (its promise face): used, never ended. */
  | { pool: MysqlPoolLike; tables: Tables };

/** How long column capacities are believed before they are read again (a `migrate --widen`, an ALTER by hand). */
const LIMITS_RECHECK_MS = 30_000;

type PooledConnection = MysqlConnectionLike & {
  beginTransaction(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
};

export class MysqlDriver implements Driver {
  readonly dialect = "mysql" as const;
  readonly capabilities: Capabilities = {
    pushedChanges: false,
    concurrentWriters: true,
    archivePartitions: true,
    sessionLocks: true,
  };
  readonly tables: Tables;
  readonly audit: AuditReads;
  readonly pool: MysqlPoolLike;
  private readonly owned: boolean;
  private readonly run: MysqlExecutor;
  private readonly sql: MysqlStatements;
  private readonly writes: MysqlTaskWrites;
  private readonly webhooks: MysqlWebhooks;
  private readonly expiry: MysqlExpiry;
  private readonly groups: MysqlGroups;
  private readonly archive: MysqlArchiveTier;
  private facts: Promise<ServerFacts> | undefined;
  private limits: { value: Promise<ColumnLimits>; at: number } | undefined;

  constructor(options: MysqlDriverOptions) {
    this.tables = options.tables;
    this.owned = !("pool" in options);
    this.pool = "pool" in options ? options.pool : createOwnPool(options.url, options.poolSize);
    this.run = new MysqlExecutor(this.pool, this.tables.task, () => this.serverFacts());
    this.sql = buildStatements(this.tables);
    this.writes = new MysqlTaskWrites(this.tables, () => this.columnLimits(), countsFoundRows(this.pool));
    this.webhooks = new MysqlWebhooks(this.run, this.tables, (body) => this.inOwnTransaction(body));
    this.expiry = new MysqlExpiry(this.run, this.sql, this.tables);
    this.groups = new MysqlGroups(this.run, this.sql);
    this.archive = new MysqlArchiveTier(this.run, this.pool, this.tables, (body) => this.inOwnTransaction(body));
    this.audit = new SqlAuditReads(
      this.tables,
      MYSQL_FRAGMENTS,
      (query) => this.run.rows<AuditRow>(query),
      () => this.archiveEnabled(),
    );
  }

  /** Checked once, before the first statement that needs them: strict SQL mode and max_allowed_packet. */
  private serverFacts(): Promise<ServerFacts> {
    this.facts ??= readServerFacts(this.pool).catch((error: unknown) => {
      this.facts = undefined;
      throw error;
    });
    return this.facts;
  }

  /**
   * The column capacities, read once and then refreshed in the background every LIMITS_RECHECK_MS:
   * a store inside a transaction holds a pool connection and must never wait for a second one (ten
   * such stores at once, with the pool's ten connections, waited for each other until the lock
   * wait timeout).
   */
  private columnLimits(): Promise<ColumnLimits> {
    const read = () => this.serverFacts().then(() => readColumnLimits(this.run, this.tables));
    if (!this.limits) {
      const value = read();
      value.catch(() => (this.limits = undefined));
      this.limits = { value, at: Date.now() };
    } else if (Date.now() - this.limits.at > LIMITS_RECHECK_MS) {
      const current = this.limits;
      current.at = Date.now();
      read().then(
        (fresh) => {
          if (this.limits === current) this.limits = { value: Promise.resolve(fresh), at: Date.now() };
        },
        () => undefined, // the known capacities stand until a read succeeds
      );
    }
    return this.limits.value;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    if (!(await this.archiveEnabled())) return this.writes.taskStore(this.run, w);
    return this.inOwnTransaction((run) => this.writes.taskStoreTiers(run, w));
  }

  /** One transaction on one connection: a batch of several statements commits whole or not at all. */
  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    if (writes.length === 0) return 0;
    const tiers = await this.archiveEnabled();
    return this.inOwnTransaction((run) => (tiers ? this.writes.taskStoreManyTiers(run, writes) : this.writes.taskStoreMany(run, writes)));
  }

  /** Runs `body` in a transaction on a connection of the pool, committed when it resolves. */
  private async inOwnTransaction<T>(body: (run: MysqlExecutor) => Promise<T>): Promise<T> {
    await this.columnLimits(); // read before the connection is taken: see columnLimits
    const connection = (await this.pool.getConnection()) as PooledConnection;
    try {
      await connection.beginTransaction();
      const result = await body(this.run.on(connection));
      await connection.commit();
      return result;
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  /** Connections already found on our database (inTransaction), so the check runs once per connection. */
  private readonly verified = new WeakSet<object>();

  /**
   * Writes on the caller's connection inside the caller's transaction. The server's own
   * transaction flag (from its last reply) is checked before every statement: a connection kept
   * past COMMIT must not autocommit.
   */
  inTransaction(tx: unknown): TransactionDriver {
    const adopted = adoptTransaction(tx, "mysql");
    if (adopted.dialect !== "mysql") throw new Error("unreachable");
    const inside = () => {
      if (!adopted.inTransaction())
        throw new NotInTransactionError("the mysql2 connection is not inside a transaction (no beginTransaction(), or already committed)");
    };
    inside();
    const run = this.run.on(adopted.connection);
    const checked = async <T>(write: () => Promise<T>): Promise<T> => {
      inside();
      await this.columnLimits();
      await this.sameDatabase(adopted.connection);
      inside();
      return write();
    };
    return {
      taskStore: (w) =>
        checked(async () => ((await this.archiveEnabled()) ? this.writes.taskStoreTiers(run, w) : this.writes.taskStore(run, w))),
      taskStoreMany: (ws) =>
        checked(async () => ((await this.archiveEnabled()) ? this.writes.taskStoreManyTiers(run, ws) : this.writes.taskStoreMany(run, ws))),
      groupSave: (row) => checked(() => this.writes.groupSave(run, row)),
      // The ready trigger writes the change row in the caller's transaction: pollers see it at commit.
      ended: () => undefined,
    };
  }

  private async sameDatabase(connection: MysqlConnectionLike): Promise<void> {
    if (this.verified.has(connection)) return;
    const identity = "SELECT DATABASE() AS db, CONCAT(@@hostname, ':', @@port) AS server";
    const [[theirs]] = (await connection.query(identity)) as [{ db: string | null; server: string }[]];
    const [[ours]] = (await this.pool.query(identity)) as [{ db: string | null; server: string }[]];
    if (theirs!.db !== ours!.db || theirs!.server !== ours!.server)
      throw new DatabaseMismatchError(`database ${theirs!.db} on ${theirs!.server}`, `database ${ours!.db} on ${ours!.server}`);
    this.verified.add(connection);
  }

  async tablesExist(): Promise<boolean> {
    const rows = await this.run.query<{ n: number }>(
      `SELECT count(*) AS n FROM information_schema.TABLES
        WHERE (TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?) OR (TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?)`,
      [this.tables.config.taskSchema, this.tables.config.task, this.tables.config.groupSchema, this.tables.config.group],
    );
    return Number(rows[0]?.n) === 2;
  }

  /** The hot row, else (with an archive) the latest archived one. */
  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const hot = await taskGet(this.run, this.sql, taskId);
    if (hot || !(await this.archiveEnabled())) return hot;
    const [cold] = await this.run.execute<RawTaskRow>(
      `SELECT ${TIER_COLUMNS} FROM ${this.tables.archive} WHERE task_id = ? ORDER BY archived_at DESC, id DESC LIMIT 1`,
      [taskId],
    );
    return cold && toTaskRow(cold);
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (!(await this.archiveEnabled())) return taskGetMany(this.run, this.sql, taskIds);
    const found = new Map<string, TaskRow>();
    for (const ids of listSlices([...new Set(taskIds)])) {
      // Archive rows first, oldest move first, so for an id in both tiers the hot row (read last)
      // wins, and among archived rows the latest, as taskGet reads them.
      const rows = await this.run.execute<RawTaskRow>(
        `SELECT ${TIER_COLUMNS} FROM (
          SELECT ${TIER_COLUMNS}, 0 AS tier, archived_at FROM ${this.tables.archive} WHERE task_id IN (${placeholders(ids.length)})
          UNION ALL SELECT ${TIER_COLUMNS}, 1 AS tier, NULL FROM ${this.tables.task} WHERE task_id IN (${placeholders(ids.length)})) AS tiers
        ORDER BY tier, archived_at, id`,
        [...ids, ...ids],
      );
      for (const row of rows) found.set(row.task_id, toTaskRow(row));
    }
    return [...found.values()];
  }

  async taskExists(taskId: string): Promise<boolean> {
    if (await taskExists(this.run, this.sql, taskId)) return true;
    return (
      (await this.archiveEnabled()) &&
      (await this.run.execute(`SELECT 1 AS present FROM ${this.tables.archive} WHERE task_id = ? LIMIT 1`, [taskId])).length > 0
    );
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (!(await this.archiveEnabled())) return taskForget(this.run, this.sql, taskIds);
    let forgotten = 0;
    for (const ids of listSlices([...new Set(taskIds)])) {
      const list = placeholders(ids.length);
      forgotten += await this.inOwnTransaction(async (run) => {
        const [gone] = await run.execute<{ n: number }>(
          `SELECT count(DISTINCT task_id) AS n FROM (SELECT task_id FROM ${this.tables.task} WHERE task_id IN (${list})
            UNION ALL SELECT task_id FROM ${this.tables.archive} WHERE task_id IN (${list})) AS both_tiers`,
          [...ids, ...ids],
        );
        await run.write(`DELETE FROM ${this.tables.task} WHERE task_id IN (${list})`, ids);
        await run.write(`DELETE FROM ${this.tables.archive} WHERE task_id IN (${list})`, ids);
        return Number(gone?.n ?? 0);
      });
    }
    return forgotten;
  }

  taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    return taskHistory(this.run, this.sql, taskId);
  }

  taskHistoryAfter(p: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]> {
    return p.taskIds.length === 0 ? Promise.resolve([]) : taskHistoryAfter(this.run, this.sql, p);
  }

  taskHistoryLatestId(taskIds: readonly string[]): Promise<number> {
    return taskHistoryLatestId(this.run, this.sql, taskIds);
  }

  async historyEnabled(): Promise<boolean> {
    return (await historyTriggerCount(this.run, this.tables)) === this.tables.historyTriggers.length;
  }

  /** Under the migration lock: two processes switching history at once must not interleave their DDL. */
  async historySet(on: boolean): Promise<boolean> {
    const held = await takeNamedLock(this.pool, await lockName(this.pool, this.tables, "migrate"), true);
    try {
      return await historySet(this.run.on(held!.connection), this.tables, on);
    } finally {
      await held!.lock.release();
    }
  }

  taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    return this.expiry.taskDeleteExpired(p);
  }
  taskCountExpired(p: Omit<DeleteExpiredParams, "limit">): Promise<number> {
    return this.expiry.taskCountExpired(p);
  }
  taskDeleteByRule(p: DeleteByRuleParams): Promise<number> {
    return this.expiry.taskDeleteByRule(p);
  }
  taskCountByRule(p: Omit<DeleteByRuleParams, "limit">): Promise<number> {
    return this.expiry.taskCountByRule(p);
  }
  taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return this.expiry.taskDeleteStale(p);
  }
  taskCountStale(p: { before: Date }): Promise<number> {
    return this.expiry.taskCountStale(p);
  }
  taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return this.expiry.taskStampUnaged(p);
  }
  groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return this.expiry.groupDeleteExpired(p);
  }
  groupCountExpired(p: { before: Date }): Promise<number> {
    return this.expiry.groupCountExpired(p);
  }
  groupGet(groupId: string): Promise<GroupRow | undefined> {
    return this.groups.groupGet(groupId);
  }
  groupDelete(groupId: string): Promise<boolean> {
    return this.groups.groupDelete(groupId);
  }

  taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    return taskHold(this.run, this.sql, countsFoundRows(this.pool), p);
  }

  taskRelease(taskIds: readonly string[]): Promise<number> {
    return taskRelease(this.run, this.sql, taskIds);
  }

  taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    return taskHolds(this.run, this.sql, taskIds);
  }

  archiveEnabled(): Promise<boolean> {
    return this.archive.archiveEnabled();
  }
  archiveCreate(now: Date): Promise<void> {
    return this.archive.archiveCreate(now);
  }
  archivePrepare(p: { now: Date; maxKeepMs: number }): Promise<string[]> {
    return this.archive.archivePrepare(p);
  }
  taskArchive(p: ArchiveMoveParams): Promise<number> {
    return this.archive.taskArchive(p);
  }
  archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number }) {
    return this.archive.archiveExpire(p);
  }
  taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.taskCountArchivable(p);
  }
  archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.archiveCountExpired(p);
  }

  groupSave(row: GroupRow): Promise<void> {
    return this.writes.groupSave(this.run, row);
  }

  async migrate(): Promise<MigrationStatus> {
    await this.serverFacts();
    const status = await migrateMysql(this.pool, this.tables, { apply: true });
    this.limits = undefined;
    return status;
  }

  async widenColumns(): Promise<string[]> {
    const ran = await widenMysql(this.pool, this.tables);
    this.limits = undefined;
    return ran;
  }

  migrationStatus(): Promise<MigrationStatus> {
    return migrateMysql(this.pool, this.tables, { apply: false });
  }

  async lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined> {
    return (await takeNamedLock(this.pool, await lockName(this.pool, this.tables, checkedLockName(name)), options.wait))?.lock;
  }

  async lockHolder(name: LockName): Promise<string | undefined> {
    return namedLockHolder(this.pool, await lockName(this.pool, this.tables, checkedLockName(name)));
  }

  webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    return this.webhooks.webhookAdd(p);
  }

  webhookList(): Promise<WebhookRow[]> {
    return this.webhooks.webhookList();
  }

  webhookRemove(ids: readonly number[]): Promise<number> {
    return this.webhooks.webhookRemove(ids);
  }

  webhookClaim(p: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]> {
    return this.webhooks.webhookClaim(p);
  }

  webhookReleaseClaims(): Promise<number> {
    return this.webhooks.webhookReleaseClaims();
  }

  webhookDelivered(ids: readonly number[]): Promise<void> {
    return this.webhooks.webhookDelivered(ids);
  }

  webhookFailed(p: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void> {
    return this.webhooks.webhookFailed(p);
  }

  webhookDeadLetters(p: { limit: number }): Promise<OutboxRow[]> {
    return this.webhooks.webhookDeadLetters(p);
  }

  webhookReplay(p: { ids: readonly number[] | null }): Promise<number> {
    return this.webhooks.webhookReplay(p);
  }

  /** MariaDB's own replicas are not read from (readUrl is PostgreSQL's): never a replica here. */
  async replicaStatus(): Promise<ReplicaStatus | undefined> {
    return undefined;
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new MysqlChangePoller(this.run, this.tables, onChange);
  }

  isTransient(error: unknown): boolean {
    return isTransientMysqlError(error);
  }

  async close(): Promise<void> {
    if (this.owned) await this.pool.end();
  }
}
