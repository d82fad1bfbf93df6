/**
 * The PostgreSQL driver: a node-postgres pool (taskledger's own, or the application's) behind one
 * executor (./executor.ts), and one module per entity: task reads and writes, groups, history,
 * holds, expiry, the archive tier, named locks, change watching. Waking and history are triggers
 * (migrations/pg/0002_history.sql), so they follow every writer's commits, not only ours.
 */
import { NotInTransactionError } from "../../errors.js";
import { SqlAuditReads } from "../audit-reads.js";
import type {
  ArchiveMoveParams,
  ArchiveRule,
  AuditReads,
  Capabilities,
  ChangeListener,
  ChangeWatch,
  DeleteByRuleParams,
  DeleteExpiredParams,
  DistributeReport,
  Driver,
  GroupRow,
  HeldLock,
  HoldRow,
  LockName,
  MigrationStatus,
  OutboxRow,
  ReplicaStatus,
  TaskHistoryEntry,
  TaskHistoryRow,
  TaskRow,
  TaskWrite,
  TransactionDriver,
  WebhookMatch,
  WebhookRow,
} from "../driver.js";
import { adoptTransaction, pgTransactionStatus, type PgPoolLike } from "../external.js";
import type { Tables } from "../tables.js";
import { PgArchiveTier } from "./archive-tier.js";
import { BorrowedPool } from "./borrowed-pool.js";
import { PgListener } from "./changes.js";
import { ClientPool } from "./client-pool.js";
import { isTransientPgError } from "./errors.js";
import { PG_TYPES, PgExecutor } from "./executor.js";
import { PgExpiry } from "./expiry.js";
import { PG_FRAGMENTS } from "./fragments.js";
import { PgGroups } from "./groups.js";
import { PgHistory } from "./history.js";
import { PgHolds } from "./holds.js";
import { PgDatabaseCheck } from "./identity.js";
import { detectCitus, distributePg, webhooksError, workerError, type CitusState } from "./distribute.js";
import { lockHolder, takeLock } from "./lock.js";
import { migratePg } from "./migrate.js";
import { replicaStatus } from "./replica.js";
import { buildStatements } from "./statements.js";
import { PgTaskReads } from "./task-reads.js";
import { PgWrites } from "./task-writes.js";
import { PgWebhooks } from "./webhooks.js";

export type PgDriverOptions =
  | { url: string; poolSize: number; tables: Tables }
  /** The application's pool: used, never ended. */
  | { pool: PgPoolLike; tables: Tables };

/** How long "not distributed" is believed before it is checked again (a `migrate --distribute` meanwhile). */
const CITUS_RECHECK_MS = 30_000;

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
  readonly tables: Tables;
  readonly audit: AuditReads;
  private readonly exec: PgExecutor;
  private readonly reads: PgTaskReads;
  private readonly writes: PgWrites;
  private readonly groups: PgGroups;
  private readonly history: PgHistory;
  private readonly holds: PgHolds;
  private readonly expiry: PgExpiry;
  private readonly archive: PgArchiveTier;
  private readonly webhooks: PgWebhooks;
  /** Tells a caller's client on another database from one on ours (inTransaction). */
  private databaseCheck: PgDatabaseCheck | undefined;
  /** The Citus profile as last seen: whether the tables are distributed here (see citus()). */
  private citusKnown: { state: CitusState | undefined; at: number } | undefined;
  /** Where this driver points, for messages (no credentials). */
  private readonly target: string;

  constructor(options: PgDriverOptions) {
    const pool =
      "pool" in options
        ? new BorrowedPool(options.pool, PG_TYPES)
        : new ClientPool({ connectionString: options.url, types: PG_TYPES, application_name: "taskledger" }, options.poolSize);
    this.tables = options.tables;
    this.target = "url" in options ? maskedTarget(options.url) : "the application's pool";
    this.exec = new PgExecutor(pool, this.tables, buildStatements(this.tables));
    this.archive = new PgArchiveTier(this.exec, () => this.citus());
    this.reads = new PgTaskReads(this.exec, () => this.citusQuiet());
    this.writes = new PgWrites(this.exec, async () => {
      this.archive.forget();
      await this.archive.archiveEnabled();
    });
    this.groups = new PgGroups(this.exec);
    this.history = new PgHistory(this.exec, () => this.citus());
    this.holds = new PgHolds(this.exec);
    this.expiry = new PgExpiry(this.exec);
    this.webhooks = new PgWebhooks(this.exec);
    this.audit = new SqlAuditReads(
      this.tables,
      PG_FRAGMENTS,
      (query) => this.exec.rows(query),
      () => this.archive.archiveEnabled(),
    );
  }

  /** The channel the notify trigger notifies on; listeners pass it to LISTEN. */
  get notifyChannel(): string {
    return this.tables.channel;
  }

  private tiers(): Promise<boolean> {
    return this.archive.archiveEnabled();
  }

  /**
   * Whether the tables are distributed by Citus here, so writes take the Citus statement forms.
   * Asked once (then every 30 s while not, so a `migrate --distribute` meanwhile is noticed);
   * a Citus worker is refused, since ids drawn there do not fit the task table's integer id.
   */
  private async citus(): Promise<boolean> {
    const known = this.citusKnown;
    let state = known?.state;
    if (!known || (!state?.distributed && Date.now() - known.at >= CITUS_RECHECK_MS)) {
      state = await detectCitus((config) => this.exec.query(config), this.tables);
      this.citusKnown = { state, at: Date.now() };
    }
    if (!state?.distributed) return false;
    if (!state.coordinator) throw workerError(this.target);
    return true;
  }

  /** citus() for reads, which a worker answers too: not refused there. */
  private async citusQuiet(): Promise<boolean> {
    return this.citus().catch(() => false);
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    const citus = await this.citus();
    return this.writes.taskStore((config) => this.exec.query(config), w, await this.tiers(), citus, true);
  }
  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    const citus = await this.citus();
    return this.writes.taskStoreMany((config) => this.exec.query(config), writes, await this.tiers(), citus, true);
  }
  async taskForget(taskIds: readonly string[]): Promise<number> {
    return this.writes.taskForget(taskIds, taskIds.length > 0 && (await this.tiers()));
  }
  groupSave(row: GroupRow): Promise<void> {
    return this.writes.groupSave((config) => this.exec.query(config), row);
  }

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
    const run = this.exec.onClient(client, async () => {
      notInside(pgTransactionStatus(client));
      await (this.databaseCheck ??= new PgDatabaseCheck(this.exec)).check(client);
      notInside(pgTransactionStatus(client)); // the caller may have committed while the check ran
    });
    return {
      taskStore: async (w) => this.writes.taskStore(run, w, await this.tiers(), await this.citus()),
      taskStoreMany: async (ws) => this.writes.taskStoreMany(run, ws, await this.tiers(), await this.citus()),
      groupSave: (row) => this.writes.groupSave(run, row),
      ended: () => undefined,
    };
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    return this.reads.taskGet(taskId, await this.tiers());
  }
  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    return taskIds.length === 0 ? [] : this.reads.taskGetMany(taskIds, await this.tiers());
  }
  async taskExists(taskId: string): Promise<boolean> {
    return this.reads.taskExists(taskId, await this.tiers());
  }
  tablesExist(): Promise<boolean> {
    return this.reads.tablesExist();
  }

  groupGet(groupId: string): Promise<GroupRow | undefined> {
    return this.groups.groupGet(groupId);
  }
  groupDelete(groupId: string): Promise<boolean> {
    return this.groups.groupDelete(groupId);
  }

  async taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    return this.history.taskHistory(taskId, await this.tiers());
  }
  taskHistoryAfter(p: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]> {
    return this.history.taskHistoryAfter(p);
  }
  taskHistoryLatestId(taskIds: readonly string[]): Promise<number> {
    return this.history.taskHistoryLatestId(taskIds);
  }
  historyEnabled(): Promise<boolean> {
    return this.history.historyEnabled();
  }
  historySet(on: boolean): Promise<boolean> {
    return this.history.historySet(on);
  }

  taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    return this.holds.taskHold(p);
  }
  taskRelease(taskIds: readonly string[]): Promise<number> {
    return this.holds.taskRelease(taskIds);
  }
  taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    return this.holds.taskHolds(taskIds);
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

  archiveEnabled(): Promise<boolean> {
    return this.archive.archiveEnabled();
  }
  async archiveCreate(now: Date): Promise<void> {
    await this.archive.archiveCreate(now);
    // Created after `migrate --distribute`: the archive's tables join the others' co-location.
    if (await this.citus()) await distributePg(this.exec, this.tables, this.target);
  }
  archivePrepare(p: { now: Date; maxKeepMs: number }): Promise<string[]> {
    return this.archive.archivePrepare(p);
  }
  taskArchive(p: ArchiveMoveParams): Promise<number> {
    return this.archive.taskArchive(p);
  }
  archiveExpire(p: { ranked: readonly ArchiveRule[]; now: Date; limit: number; maxKeepMs: number }) {
    return this.archive.archiveExpire(p);
  }
  archiveCountExpired(p: { ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.archiveCountExpired(p);
  }
  taskCountArchivable(p: { before: Date; ranked: readonly ArchiveRule[]; now: Date }): Promise<number> {
    return this.archive.taskCountArchivable(p);
  }

  async migrate(): Promise<MigrationStatus> {
    // A Citus worker takes no DDL of its own (Citus refuses some of it half-way through a
    // migration): tables are made and distributed from the coordinator.
    const citus = await detectCitus((config) => this.exec.query(config), this.tables);
    if (citus && !citus.coordinator) throw workerError(this.target);
    return migratePg(this.exec, this.tables, { apply: true });
  }
  migrationStatus(): Promise<MigrationStatus> {
    return migratePg(this.exec, this.tables, { apply: false });
  }
  async distribute(): Promise<DistributeReport> {
    const report = await distributePg(this.exec, this.tables, this.target);
    this.citusKnown = undefined;
    return report;
  }

  lock(name: LockName, options: { wait: boolean }): Promise<HeldLock | undefined> {
    return takeLock(this.exec, name, options.wait);
  }
  lockHolder(name: LockName): Promise<string | undefined> {
    return lockHolder(this.exec, name);
  }

  async webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    // Not delivered on a distributed cluster (pg/distribute.ts): refused rather than kept silently.
    if (await this.citus()) throw webhooksError(this.target, undefined);
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

  watchChanges(onChange: ChangeListener): ChangeWatch {
    const config = this.exec.listenConfig;
    return config ? new PgListener(config, this.tables.channel, this.tables.interest, onChange) : NO_WATCH;
  }

  replicaStatus(): Promise<ReplicaStatus | undefined> {
    return replicaStatus(this.exec);
  }

  isTransient(error: unknown): boolean {
    return isTransientPgError(error);
  }

  async close(): Promise<void> {
    await this.exec.end();
  }
}

/** A URL for messages: host, port and database, never the user or password. */
function maskedTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return "this server";
  }
}
