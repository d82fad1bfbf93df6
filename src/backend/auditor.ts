/**
 * Reading the store for auditing: list, count, stats and a constant-memory iteration over every
 * matching row (keyset pagination by id). Rows whose values cannot be decoded are reported in
 * place (a CorruptValueError with the raw row), never thrown, so a listing always completes.
 */
import { countByColumn, countByHour, countTasks, listTasks, taskTimings, type ListOrder, type RawListedRow, type TaskQuery } from "../db/audit.js";
import { fromNaiveUtc } from "../db/naive-utc.js";
import type { Driver, TaskRow } from "../db/driver.js";
import { toTaskRow } from "../db/rows.js";
import type { Tables } from "../db/tables.js";
import { ConfigError, CorruptValueError } from "../errors.js";
import type { TaskMeta } from "../types.js";
import { rowToMeta } from "./task-meta.js";

export type { ListOrder, TaskQuery };

/** One listed row: decoded, or the raw row with why it could not be decoded. */
export type ListedTask =
  | { id: number; meta: TaskMeta; corrupt?: undefined; row: TaskRow }
  | { id: number; meta?: undefined; corrupt: CorruptValueError; row: TaskRow };

export interface CountEntry {
  key: string | null;
  count: number;
  failures: number;
}

export interface TaskStats {
  total: number;
  byState: CountEntry[];
  byName: CountEntry[];
  byWorker: CountEntry[];
  /** Busiest hours (UTC, 'YYYY-MM-DD HH'), most tasks first. */
  busiestHours: CountEntry[];
  /** FAILURE rows among ready rows (SUCCESS, FAILURE, REVOKED); null when none is ready. */
  failureRate: number | null;
}

/** Percentiles of one duration over many tasks, in milliseconds. */
export interface DurationStats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

/** Queue and run time of one task name (#11), from the history; null where no task had both ends. */
export interface NameTimings {
  name: string | null;
  /** Sent (markAsSent's PENDING) to first STARTED. */
  queue: DurationStats | null;
  /** First STARTED to finished (SUCCESS, FAILURE, REVOKED), retries included. */
  run: DurationStats | null;
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

export class TaskAuditor {
  constructor(
    private readonly driver: Driver,
    private readonly tables: Tables,
    private readonly retrying: <T>(operation: string, attempt: () => Promise<T>) => Promise<T>,
  ) {}

  /** One page of matching rows, newest (by creation) first unless `order` says otherwise. */
  async list(query: TaskQuery = {}, page: { limit?: number; order?: ListOrder; afterId?: number } = {}): Promise<ListedTask[]> {
    if (page.limit !== undefined && (!Number.isInteger(page.limit) || page.limit < 1)) throw new ConfigError("limit", `expected a positive integer, got ${page.limit}`);
    const sqlQuery = listTasks(this.tables, query, { limit: page.limit ?? 100, order: page.order ?? "newest", afterId: page.afterId });
    const rows = (await this.retrying("list", () => this.driver.audit(sqlQuery))) as unknown as RawListedRow[];
    return rows.map((raw) => this.decode(Number(raw.id), toTaskRow(raw)));
  }

  private decode(id: number, row: TaskRow): ListedTask {
    try {
      return { id, meta: rowToMeta(row), row };
    } catch (error) {
      if (!(error instanceof CorruptValueError)) throw error;
      return { id, corrupt: error, row };
    }
  }

  /** The rows of these ids (one query), in the order given; unknown ids are left out. */
  async byIds(taskIds: readonly string[]): Promise<ListedTask[]> {
    const rows = await this.retrying("show", () => this.driver.taskGetMany(taskIds));
    const byId = new Map(rows.map((row) => [row.taskId, row]));
    return taskIds.flatMap((id) => {
      const row = byId.get(id);
      return row ? [this.decode(0, row)] : [];
    });
  }

  /** Every matching row, oldest first, a page at a time: memory stays flat however many match. */
  async *iterate(query: TaskQuery = {}, options: { pageSize?: number } = {}): AsyncGenerator<ListedTask> {
    let afterId: number | undefined;
    for (;;) {
      const page = await this.list(query, { limit: options.pageSize ?? 1000, order: "oldest", afterId });
      yield* page;
      if (page.length < (options.pageSize ?? 1000)) return;
      afterId = page[page.length - 1]!.id;
    }
  }

  async count(query: TaskQuery = {}): Promise<number> {
    const rows = await this.retrying("count", () => this.driver.audit(countTasks(this.tables, query)));
    return Number(rows[0]?.["n"] ?? 0);
  }

  /**
   * Queue time and run time per task name over the tasks matching `query` (#11), from the history
   * the triggers keep: p50, p95 and max. Names with neither are left out; busiest names first.
   */
  async timings(query: TaskQuery = {}, options: { top?: number } = {}): Promise<NameTimings[]> {
    const rows = await this.retrying("stats", () => this.driver.audit(taskTimings(this.tables, query)));
    const byName = new Map<string | null, { queue: number[]; run: number[] }>();
    const time = (value: unknown) => (value === null || value === undefined ? null : fromNaiveUtc(String(value))?.getTime() ?? null);
    for (const row of rows) {
      const name = row["name"] === null || row["name"] === undefined ? null : String(row["name"]);
      const [sent, started, done] = [time(row["sent"]), time(row["started"]), time(row["done"])];
      let entry = byName.get(name);
      if (!entry) byName.set(name, (entry = { queue: [], run: [] }));
      if (sent !== null && started !== null && started >= sent) entry.queue.push(started - sent);
      if (started !== null && done !== null && done >= started) entry.run.push(done - started);
    }
    return [...byName.entries()]
      .map(([name, d]) => ({ name, queue: summarize(d.queue), run: summarize(d.run) }))
      .filter((t) => t.queue !== null || t.run !== null)
      .sort((a, b) => Math.max(b.queue?.count ?? 0, b.run?.count ?? 0) - Math.max(a.queue?.count ?? 0, a.run?.count ?? 0) || String(a.name).localeCompare(String(b.name)))
      .slice(0, options.top ?? 10);
  }

  /** Counts by state, task name, worker and hour over the rows matching `query`. */
  async stats(query: TaskQuery = {}, options: { top?: number } = {}): Promise<TaskStats> {
    const top = options.top ?? 10;
    if (!Number.isInteger(top) || top < 1) throw new ConfigError("top", `expected a positive integer, got ${top}`);
    const read = async (q: ReturnType<typeof countByColumn>) =>
      (await this.retrying("stats", () => this.driver.audit(q))).map((r) => ({
        key: r["key"] === null || r["key"] === undefined ? null : String(r["key"]),
        count: Number(r["n"]),
        failures: Number(r["failures"] ?? 0),
      }));
    const byState = await read(countByColumn(this.tables, query, "status", 1000));
    const byName = await read(countByColumn(this.tables, query, "name", top));
    const byWorker = await read(countByColumn(this.tables, query, "worker", top));
    const busiestHours = await read(countByHour(this.tables, query, this.driver.auditFragments, top));
    const total = byState.reduce((sum, e) => sum + e.count, 0);
    const ready = byState.filter((e) => e.key === "SUCCESS" || e.key === "FAILURE" || e.key === "REVOKED").reduce((sum, e) => sum + e.count, 0);
    const failed = byState.find((e) => e.key === "FAILURE")?.count ?? 0;
    return { total, byState, byName, byWorker, busiestHours, failureRate: ready === 0 ? null : failed / ready };
  }
}
