/**
 * Reading the store for auditing: list, count, stats and a constant-memory iteration over every
 * matching row (keyset pagination by id). Rows whose values cannot be decoded are reported in
 * place (a CorruptValueError with the raw row), never thrown, so a listing always completes.
 */
import { countByColumn, countByHour, countTasks, listTasks, type ListOrder, type RawListedRow, type TaskQuery } from "../db/audit.js";
import type { Driver, TaskRow } from "../db/driver.js";
import { toTaskRow } from "../db/rows.js";
import { auditTables } from "../db/archive.js";
import type { Tables } from "../db/tables.js";
import { CorruptValueError } from "../errors.js";
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

export class TaskAuditor {
  constructor(
    private readonly driver: Driver,
    private readonly tables: Tables,
    private readonly retrying: <T>(operation: string, attempt: () => Promise<T>) => Promise<T>,
  ) {}

  /** One page of matching rows, newest (by creation) first unless `order` says otherwise. */
  async list(query: TaskQuery = {}, page: { limit?: number; order?: ListOrder; afterId?: number } = {}): Promise<ListedTask[]> {
    const sqlQuery = listTasks(await this.tiers(), query, { limit: page.limit ?? 100, order: page.order ?? "newest", afterId: page.afterId });
    const rows = (await this.retrying("list", () => this.driver.audit(sqlQuery))) as unknown as RawListedRow[];
    return rows.map((raw) => this.decode(Number(raw.id), toTaskRow(raw)));
  }

  /** Both tiers once the archive exists (#12): every audit read sees archived rows too. */
  private async tiers(): Promise<Tables> {
    return auditTables(this.tables, await this.retrying("archive check", () => this.driver.archiveEnabled()));
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
    const tables = await this.tiers();
    const rows = await this.retrying("count", () => this.driver.audit(countTasks(tables, query)));
    return Number(rows[0]?.["n"] ?? 0);
  }

  /** Counts by state, task name, worker and hour over the rows matching `query`. */
  async stats(query: TaskQuery = {}, options: { top?: number } = {}): Promise<TaskStats> {
    const top = options.top ?? 10;
    const tables = await this.tiers();
    const read = async (q: ReturnType<typeof countByColumn>) =>
      (await this.retrying("stats", () => this.driver.audit(q))).map((r) => ({
        key: r["key"] === null || r["key"] === undefined ? null : String(r["key"]),
        count: Number(r["n"]),
        failures: Number(r["failures"] ?? 0),
      }));
    const byState = await read(countByColumn(tables, query, "status", 1000));
    const byName = await read(countByColumn(tables, query, "name", top));
    const byWorker = await read(countByColumn(tables, query, "worker", top));
    const busiestHours = await read(countByHour(tables, query, this.driver.auditFragments, top));
    const total = byState.reduce((sum, e) => sum + e.count, 0);
    const ready = byState.filter((e) => e.key === "SUCCESS" || e.key === "FAILURE" || e.key === "REVOKED").reduce((sum, e) => sum + e.count, 0);
    const failed = byState.find((e) => e.key === "FAILURE")?.count ?? 0;
    return { total, byState, byName, byWorker, busiestHours, failureRate: ready === 0 ? null : failed / ready };
  }
}
