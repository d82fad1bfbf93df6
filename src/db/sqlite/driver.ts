/**
 * The SQLite driver: one better-sqlite3 connection per backend in WAL mode, so readers never
 * block the writer and several processes can share one file. better-sqlite3 is synchronous; each
 * method runs one short statement (or one transaction) and returns a settled promise, and a
 * short busy timeout plus the backend's async retry keeps lock waits from freezing the event loop.
 */
import Database from "better-sqlite3";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { AuditFragments } from "../audit.js";
import type { AuditRow, DeleteExpiredParams, Driver, GroupRow, HeldLock, MigrationStatus, TaskHistoryRow, TaskRow, TaskWrite } from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { toNaiveUtc } from "../naive-utc.js";
import { toGroupRow, toHistoryRow, toTaskRow, type RawGroupRow, type RawHistoryRow, type RawTaskRow } from "../rows.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { SqliteChangePoller } from "./change-poller.js";
import { isTransientSqliteError } from "./errors.js";
import { describeHolder, holderText, livenessOf, newHolder, parseHolder } from "./lease-holder.js";
import { migrateSqlite } from "./migrate.js";
import { buildStatements } from "./statements.js";

const CLEANUP_LOCK = "cleanup";
/**
 * How long a lease outlives its last heartbeat. Only holders that cannot be checked by pid (another
 * host or container) wait this out; it allows two missed renewals on a busy database.
 */
const LOCK_LEASE_MS = 15_000;
const LOCK_RENEW_MS = 5_000;
const LOCK_POLL_MS = 200;

export interface SqliteDriverOptions {
  file: string;
  busyTimeoutMs: number;
  tables: Tables;
}


type Statements = { [K in keyof ReturnType<typeof buildStatements>]: Database.Statement };

export class SqliteDriver implements Driver {
  readonly dialect = "sqlite" as const;
  readonly concurrentWriters = false;
  readonly supportsNotify = false;
  readonly db: Database.Database;
  private statements: Statements | undefined;
  readonly tables: Tables;
  private readonly texts: ReturnType<typeof buildStatements>;
  private readonly storeManyTx: Database.Transaction<(writes: readonly TaskWrite[]) => number>;

  constructor(options: SqliteDriverOptions) {
    this.tables = options.tables;
    this.texts = buildStatements(options.tables);
    this.db = new Database(options.file);
    this.db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    if (options.file !== ":memory:") this.db.pragma("journal_mode = WAL");
    // WAL with synchronous=NORMAL survives a process crash; only an OS crash or power loss can
    // lose the last commits. FULL would cost an fsync per store (BENCHMARKS.md).
    this.db.pragma("synchronous = NORMAL");
    // SQLite's default 2 MB page cache made reads on a 10M-row table 1.9x slower than on 10k rows
    // and made each cleanup batch re-read its index pages (BENCHMARKS.md); 64 MB is an upper
    // bound, pages are only held once read.
    this.db.pragma("cache_size = -65536");
    this.storeManyTx = this.db.transaction((writes: readonly TaskWrite[]) => {
      let written = 0;
      const store = this.prepared().taskStore;
      for (const w of writes) written += store.run(...writeParams(w)).changes;
      return written;
    });
  }

  // Statements are prepared on first use: the tables exist only once migrations have run.
  private prepared(): Statements {
    if (!this.statements) {
      this.statements = Object.fromEntries(Object.entries(this.texts).map(([key, text]) => [key, this.db.prepare(text)])) as Statements;
    }
    return this.statements;
  }

  async taskStore(w: TaskWrite): Promise<boolean> {
    return this.prepared().taskStore.run(...writeParams(w)).changes > 0;
  }

  async taskStoreMany(writes: readonly TaskWrite[]): Promise<number> {
    return this.storeManyTx.immediate(writes);
  }

  async taskGet(taskId: string): Promise<TaskRow | undefined> {
    const row = this.prepared().taskGet.get(taskId) as RawTaskRow | undefined;
    return row ? toTaskRow(row) : undefined;
  }

  async taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    return (this.prepared().taskGetMany.all(JSON.stringify(taskIds)) as RawTaskRow[]).map(toTaskRow);
  }

  async taskExists(taskId: string): Promise<boolean> {
    return this.prepared().taskExists.get(taskId) !== undefined;
  }

  async taskForget(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return this.prepared().taskForget.run(JSON.stringify(taskIds)).changes;
  }

  async taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    return (this.prepared().taskHistory.all(taskId) as RawHistoryRow[]).map(toHistoryRow);
  }

  async historyEnabled(): Promise<boolean> {
    return this.historyTriggerCount() === this.tables.historyTriggers.length;
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  async historySet(on: boolean): Promise<boolean> {
    const n = this.historyTriggerCount();
    if (on ? n === this.tables.historyTriggers.length : n === 0) return false;
    const statements = on ? historyTriggerStatements("sqlite", this.tables) : [];
    this.db.transaction(() => {
      for (const name of this.tables.historyTriggers) this.db.exec(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")}`);
      for (const statement of statements) this.db.exec(statement);
    }).immediate();
    return true;
  }

  private historyTriggerCount(): number {
    return this.db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (SELECT value FROM json_each(?))").pluck()
      .get(JSON.stringify(this.tables.historyTriggers)) as number;
  }

  async taskDeleteExpired(p: DeleteExpiredParams): Promise<number> {
    return this.prepared().taskDeleteExpired.run({
      before: toNaiveUtc(p.before),
      limit: p.limit,
      only: p.onlyStatuses ? JSON.stringify(p.onlyStatuses) : null,
      except: p.exceptStatuses ? JSON.stringify(p.exceptStatuses) : null,
    }).changes;
  }

  async taskDeleteStale(p: { before: Date; limit: number }): Promise<number> {
    return this.prepared().taskDeleteStale.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async taskStampUnaged(p: { now: Date; limit: number }): Promise<number> {
    return this.prepared().taskStampUnaged.run({ now: toNaiveUtc(p.now), limit: p.limit }).changes;
  }

  async groupSave(row: GroupRow): Promise<void> {
    this.prepared().groupSave.run(row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone));
  }

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const row = this.prepared().groupGet.get(groupId) as RawGroupRow | undefined;
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    return this.prepared().groupDelete.run(groupId).changes > 0;
  }

  async groupDeleteExpired(p: { before: Date; limit: number }): Promise<number> {
    return this.prepared().groupDeleteExpired.run({ before: toNaiveUtc(p.before), limit: p.limit }).changes;
  }

  async migrate(): Promise<MigrationStatus> {
    return migrateSqlite(this.db, this.tables, { apply: true });
  }

  async migrationStatus(): Promise<MigrationStatus> {
    return migrateSqlite(this.db, this.tables, { apply: false });
  }

  /**
   * A lease row in taskledger_lock holding the holder's pid and host, renewed while held (the
   * heartbeat). A holder on this machine whose pid is gone is taken over at once (#9 item 7: a
   * killed `backend-cleanup` blocked the next run for the whole lease); one that cannot be checked
   * from here (another host or container) only once its heartbeat stops and the lease runs out.
   */
  async cleanupLock(wait: boolean): Promise<HeldLock | undefined> {
    const me = holderText(newHolder());
    const s = this.prepared();
    let takenOverFrom: string | undefined;
    for (;;) {
      const now = Date.now();
      if (s.lockTake.run({ name: CLEANUP_LOCK, holder: me, expires_at: now + LOCK_LEASE_MS, now }).changes > 0) break;
      const current = s.lockGet.get({ name: CLEANUP_LOCK }) as { holder: string; expires_at: number } | undefined;
      if (current) {
        const previous = parseHolder(current.holder);
        if (livenessOf(previous) === "dead" && s.lockTakeOver.run({ name: CLEANUP_LOCK, holder: me, expires_at: now + LOCK_LEASE_MS, previous: current.holder }).changes > 0) {
          takenOverFrom = describeHolder(previous, "dead", current.expires_at, now);
          break;
        }
      }
      if (!wait) return undefined;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    let lost = false;
    const renew = setInterval(() => {
      try {
        if (s.lockRenew.run({ name: CLEANUP_LOCK, holder: me, expires_at: Date.now() + LOCK_LEASE_MS }).changes === 0) lost = true;
      } catch {
        // a busy database delays one renewal; the lease has room for two more
      }
    }, LOCK_RENEW_MS);
    renew.unref();
    return {
      ...(takenOverFrom ? { takenOverFrom } : {}),
      // Read at each batch boundary (a point read by primary key): a holder whose lease was taken
      // over (found dead by mistake, or its heartbeat stalled past the lease) stops at once.
      lost: () => {
        if (lost) return true;
        try {
          lost = (s.lockGet.get({ name: CLEANUP_LOCK }) as { holder: string } | undefined)?.holder !== me;
        } catch {
          // busy: the heartbeat still decides
        }
        return lost;
      },
      release: async () => {
        clearInterval(renew);
        s.lockRelease.run({ name: CLEANUP_LOCK, holder: me });
      },
    };
  }

  async cleanupLockHolder(): Promise<string | undefined> {
    const current = this.prepared().lockGet.get({ name: CLEANUP_LOCK }) as { holder: string; expires_at: number } | undefined;
    if (!current || current.expires_at < Date.now()) return undefined;
    const holder = parseHolder(current.holder);
    return describeHolder(holder, livenessOf(holder), current.expires_at);
  }

  // date_done is text 'YYYY-MM-DD HH:MM:SS.ffffff' here, so its first 13 characters are the hour.
  readonly auditFragments: AuditFragments = {
    hourBucket: sql`substr(date_done, 1, 13)`,
    timeBucket: (seconds) => sql`(CAST(strftime('%s', date_done) AS INTEGER) / ${seconds}) * ${seconds}`,
    // SQLite's LIKE ignores case and so cannot use the BINARY index on task_id; a range on it can,
    // and BINARY (UTF-8 byte) order puts every id with the prefix inside [prefix, prefix + U+10FFFF).
    idPrefix: (prefix) => sql`(task_id >= ${prefix} AND task_id < ${`${prefix}\u{10FFFF}`} AND substr(task_id, 1, ${prefix.length}) = ${prefix})`,
  };
  private readonly drizzleDialect = new SQLiteSyncDialect();

  async audit(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzleDialect.sqlToQuery(query);
    return this.db.prepare(text).all(...params) as AuditRow[];
  }

  watchChanges(onChange: ChangeListener): ChangeWatch {
    return new SqliteChangePoller(this.db, onChange);
  }

  isTransient(error: unknown): boolean {
    return isTransientSqliteError(error);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** taskStore's parameters in statement order: the 15 columns, `extended` six times, `replaceReady`. */
function writeParams(w: TaskWrite): unknown[] {
  const x = w.extended;
  const extended = x !== null ? 1 : 0;
  return [
    w.taskId, w.status, w.result, w.dateDone && toNaiveUtc(w.dateDone), w.traceback,
    x?.name ?? null, x?.args ?? null, x?.kwargs ?? null, x?.worker ?? null, x?.retries ?? null, x?.queue ?? null,
    w.children, w.parentId, w.groupId, toNaiveUtc(w.dateUpdated),
    extended, extended, extended, extended, extended, extended, w.replaceReady ? 1 : 0,
  ];
}

