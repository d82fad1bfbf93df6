/**
 * Reading the store for auditing: list, count, stats and a constant-memory iteration over every
 * matching row (keyset pagination by id). Rows whose values cannot be decoded are reported in
 * place (a CorruptValueError with the raw row), never thrown, so a listing always completes.
 */
import type { Driver, KeyCount, ListOrder, ReplicaStatus, TaskQuery, TaskRow } from "../db/driver.js";
import type { TaskEvent } from "../types.js";
import { validateId } from "./task-write.js";
import { historyRowToEvent } from "./task-history.js";
import { ConfigError, CorruptValueError } from "../errors.js";
import { FAILURE, isReady } from "../states.js";
import { groupFailures, type FailureGroup, type ListedTask } from "./failure-groups.js";
import { rowToMeta } from "./task-meta.js";

export type { ListOrder, TaskQuery };

export type { FailureGroup, ListedTask };

/** Finished tasks in one time bucket starting at `start` (epoch seconds, UTC). */
export interface TimeBucket {
  start: number;
  count: number;
  failures: number;
}

export type CountEntry = KeyCount;

export interface TaskStats {
  total: number;
  byState: CountEntry[];
  byName: CountEntry[];
  byWorker: CountEntry[];
  /** Busiest hours (UTC, 'YYYY-MM-DD HH'), most tasks first. */
  busiestHours: CountEntry[];
  /** FAILURE rows among ready rows (READY_STATES); null when none is ready. */
  failureRate: number | null;
}

/** Percentiles of one duration over many tasks, in milliseconds. */
export interface DurationStats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

/** Queue and run time of one task name, from the history; null where no task had both ends. */
export interface NameTimings {
  name: string | null;
  /** Sent (markAsSent's PENDING) to first STARTED. */
  queue: DurationStats | null;
  /** First STARTED to finished (a READY_STATES event), retries included. */
  run: DurationStats | null;
}

/** A row decoded to its meta, or kept raw with why it could not be decoded. */
export function decodeListed(id: number, row: TaskRow, cursor = String(id)): ListedTask {
  try {
    return { id, cursor, meta: rowToMeta(row), row };
  } catch (error) {
    if (!(error instanceof CorruptValueError)) throw error;
    return { id, cursor, corrupt: error, row };
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summarize(values: number[]): DurationStats | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95), max: values[values.length - 1]! };
}

/**
 * Where audit figures come from when a replica serves them, and how old they may be, in words
 * (the CLI's `stats` and the web view's footer); `null`: a replica that did not report its replay.
 */
export function replicaText(replica: ReplicaStatus | null): string {
  if (replica === null) return "read from a replica that does not report its replay (is it a replica?)";
  const behind = replica.lagMs < 1000 ? "caught up with the primary" : `${(replica.lagMs / 1000).toFixed(1)} s behind the primary`;
  return `read from a replica, ${behind}${replica.paused ? " (replay paused)" : ""}`;
}

export class TaskAuditor {
  constructor(
    private readonly driver: Driver,
    private readonly retrying: <T>(operation: string, attempt: () => Promise<T>) => Promise<T>,
    /** The backend's many-read (one query, rows decoded once): `show` and the web's task pages use it too. */
    private readonly readMany: (taskIds: readonly string[]) => Promise<Map<string, ListedTask>>,
  ) {}

  /** Every recorded change of a task's state, oldest first (see DatabaseBackend.getTaskHistory), from where audits read. */
  async history(taskId: string): Promise<TaskEvent[]> {
    validateId(taskId, "task");
    return (await this.retrying("history", () => this.driver.taskHistory(taskId))).map(historyRowToEvent);
  }

  /**
   * Where audits read from, when that is a read replica: how far behind the primary it is and
   * whether its replay is paused; undefined when audits read the database itself.
   */
  replica(): Promise<ReplicaStatus | undefined> {
    return this.retrying("replica", () => this.driver.replicaStatus());
  }

  /**
   * One page of matching rows, newest first unless `order` says otherwise, after the row whose
   * `cursor` is `after` (or, in id order, after the id `afterId`). Newest first with an `until`
   * lists by time, not by creation (see Driver.audit.list).
   */
  async list(
    query: TaskQuery = {},
    page: { limit?: number; order?: ListOrder; afterId?: number; after?: string } = {},
  ): Promise<ListedTask[]> {
    if (page.limit !== undefined && (!Number.isInteger(page.limit) || page.limit < 1))
      throw new ConfigError("limit", `expected a positive integer, got ${page.limit}`);
    const after = page.after ?? (page.afterId === undefined ? undefined : String(page.afterId));
    const rows = await this.retrying("list", () =>
      this.driver.audit.list(query, { limit: page.limit ?? 100, order: page.order ?? "newest", after }),
    );
    return rows.map(({ id, row, cursor }) => decodeListed(id, row, cursor));
  }

  /**
   * One keyset page, newest first: the rows after the cursor `before` (the previous page's
   * `next`), and the cursor of the page after, or null at the end. Stable while rows arrive:
   * new rows sort before the cursor and never shift a later page.
   */
  async page(query: TaskQuery = {}, page: { limit?: number; before?: string } = {}): Promise<{ items: ListedTask[]; next: string | null }> {
    const limit = page.limit ?? 100;
    const items = await this.list(query, {
      limit: limit + 1,
      order: "newest",
      ...(page.before === undefined ? {} : { after: page.before }),
    });
    const more = items.length > limit;
    if (more) items.length = limit;
    return { items, next: more ? items[items.length - 1]!.cursor : null };
  }

  /**
   * Counts by state, name and worker from one pass over the matching rows (the web overview's
   * tables; `stats` reads the rows once per table, which the CLI can afford).
   */
  async breakdown(
    query: TaskQuery = {},
    options: { top?: number } = {},
  ): Promise<Pick<TaskStats, "total" | "byState" | "byName" | "byWorker" | "failureRate">> {
    const top = options.top ?? 10;
    const rows = await this.retrying("breakdown", () => this.driver.audit.countByStateNameWorker(query));
    const roll = (key: (r: (typeof rows)[number]) => string | null, limit: number): CountEntry[] => {
      const entries = new Map<string | null, CountEntry>();
      for (const r of rows) {
        const k = key(r);
        const entry = entries.get(k) ?? { key: k, count: 0, failures: 0 };
        entry.count += r.count;
        if (r.status === FAILURE) entry.failures += r.count;
        entries.set(k, entry);
      }
      return [...entries.values()].sort((a, b) => b.count - a.count || String(a.key).localeCompare(String(b.key))).slice(0, limit);
    };
    const byState = roll((r) => r.status, 1000);
    const total = byState.reduce((sum, e) => sum + e.count, 0);
    const ready = byState.filter((e) => e.key !== null && isReady(e.key)).reduce((sum, e) => sum + e.count, 0);
    const failed = byState.find((e) => e.key === FAILURE)?.count ?? 0;
    return {
      total,
      byState,
      byName: roll((r) => r.name, top),
      byWorker: roll((r) => r.worker, top),
      failureRate: ready === 0 ? null : failed / ready,
    };
  }

  /** Finished tasks and failures per time bucket of `bucketSeconds` (the overview's chart). */
  async timeline(query: TaskQuery, bucketSeconds: number): Promise<TimeBucket[]> {
    return this.retrying("timeline", () => this.driver.audit.countByTimeBucket(query, bucketSeconds));
  }

  /**
   * FAILURE rows grouped by exception type and message, most frequent first. The database counts
   * per distinct stored value and task name; the distinct values are decoded here and merged by
   * type and message. `complete` is false when more than `valueLimit` distinct values matched
   * (messages that embed ids make every failure distinct); the groups then cover the most frequent.
   */
  async failureGroups(
    query: TaskQuery = {},
    options: { valueLimit?: number } = {},
  ): Promise<{ groups: FailureGroup[]; scanned: number; complete: boolean }> {
    const valueLimit = options.valueLimit ?? 2000;
    const counts = await this.retrying("failureGroups", () => this.driver.audit.countFailuresByValue(query, valueLimit + 1));
    const complete = counts.length <= valueLimit;
    if (!complete) counts.length = valueLimit;
    const weighted = counts.map((c) => ({ entry: decodeListed(0, c.row), count: c.count, firstSeen: c.firstSeen, lastSeen: c.lastSeen }));
    return { groups: groupFailures(weighted), scanned: weighted.reduce((sum, w) => sum + w.count, 0), complete };
  }

  /** The rows of these ids (one query), in the order given; unknown ids are left out. */
  async byIds(taskIds: readonly string[]): Promise<ListedTask[]> {
    const found = await this.readMany(taskIds);
    return taskIds.flatMap((id) => {
      const entry = found.get(id);
      return entry ? [entry] : [];
    });
  }

  /** Every matching row, oldest first, a page at a time: memory stays flat however many match. */
  async *iterate(query: TaskQuery = {}, options: { pageSize?: number } = {}): AsyncGenerator<ListedTask> {
    let after: string | undefined;
    for (;;) {
      const page = await this.list(query, { limit: options.pageSize ?? 1000, order: "oldest", ...(after === undefined ? {} : { after }) });
      yield* page;
      if (page.length < (options.pageSize ?? 1000)) return;
      after = page[page.length - 1]!.cursor;
    }
  }

  count(query: TaskQuery = {}): Promise<number> {
    return this.retrying("count", () => this.driver.audit.count(query));
  }

  /**
   * Queue time and run time per task name over the tasks matching `query`, from the history
   * the triggers keep: p50, p95 and max. Names with neither are left out; busiest names first.
   */
  async timings(query: TaskQuery = {}, options: { top?: number } = {}): Promise<NameTimings[]> {
    const rows = await this.retrying("stats", () => this.driver.audit.timings(query));
    const byName = new Map<string | null, { queue: number[]; run: number[] }>();
    for (const row of rows) {
      const name = row.name;
      const [sent, started, done] = [row.sent?.getTime() ?? null, row.started?.getTime() ?? null, row.done?.getTime() ?? null];
      let entry = byName.get(name);
      if (!entry) byName.set(name, (entry = { queue: [], run: [] }));
      if (sent !== null && started !== null && started >= sent) entry.queue.push(started - sent);
      if (started !== null && done !== null && done >= started) entry.run.push(done - started);
    }
    return [...byName.entries()]
      .map(([name, d]) => ({ name, queue: summarize(d.queue), run: summarize(d.run) }))
      .filter((t) => t.queue !== null || t.run !== null)
      .sort(
        (a, b) =>
          Math.max(b.queue?.count ?? 0, b.run?.count ?? 0) - Math.max(a.queue?.count ?? 0, a.run?.count ?? 0) ||
          String(a.name).localeCompare(String(b.name)),
      )
      .slice(0, options.top ?? 10);
  }

  /** Counts by state, task name, worker and hour over the rows matching `query`. */
  async stats(query: TaskQuery = {}, options: { top?: number } = {}): Promise<TaskStats> {
    const top = options.top ?? 10;
    if (!Number.isInteger(top) || top < 1) throw new ConfigError("top", `expected a positive integer, got ${top}`);
    const read = (column: "status" | "name" | "worker" | "hour", limit: number) =>
      this.retrying("stats", () => this.driver.audit.countBy(query, column, limit));
    const byState = await read("status", 1000);
    const byName = await read("name", top);
    const byWorker = await read("worker", top);
    const busiestHours = await read("hour", top);
    const total = byState.reduce((sum, e) => sum + e.count, 0);
    const ready = byState.filter((e) => e.key !== null && isReady(e.key)).reduce((sum, e) => sum + e.count, 0);
    const failed = byState.find((e) => e.key === FAILURE)?.count ?? 0;
    return { total, byState, byName, byWorker, busiestHours, failureRate: ready === 0 ? null : failed / ready };
  }
}
