/**
 * The drivers' audit reads (Driver.audit): the builders of ./audit.ts and ./audit-overview.ts
 * run through the dialect's executor, over both tiers once the archive exists, with the
 * rows mapped to typed values here, so nothing above src/db sees SQL or a raw row.
 */
import type { SQL } from "drizzle-orm";
import {
  countByColumn,
  countByHour,
  countTasks,
  listsByTime,
  listTasks,
  taskTimings,
  type AuditFragments,
  type PageCursor,
} from "./audit.js";
import { ConfigError } from "../errors.js";
import { FAILURE } from "../states.js";
import { countByStateNameWorker, countByTimeBucket, countFailuresByValue } from "./audit-overview.js";
import { auditTables } from "./archive.js";
import { fromNaiveUtc } from "./naive-utc.js";
import { toTaskRow, type RawTaskRow } from "./rows.js";
import type { Tables } from "./tables.js";
import type {
  AuditReads,
  BucketCount,
  FailureValueCount,
  KeyCount,
  ListedRow,
  ListOrder,
  StateNameWorkerCount,
  TaskQuery,
  TaskTiming,
} from "./types.js";

/** A row of an audit query, with columns as the database returns them. */
export type AuditRow = Record<string, unknown>;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** PostgreSQL returns timestamps in aggregates as naive text (pg type parser off) or Date; SQLite as text. */
const time = (v: unknown): Date | null => (v instanceof Date ? v : fromNaiveUtc(text(v)));

/** Cursors are made by list() above; anything else (a cursor of the other order, a typo) is refused. */
function parseCursor(text: string, byTime: boolean): PageCursor {
  if (!byTime && /^\d{1,15}$/.test(text)) return { kind: "id", id: Number(text) };
  const time = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)\/(\d{1,15})$/.exec(text);
  if (byTime && time) return { kind: "time", at: time[1]!, id: Number(time[2]) };
  throw new ConfigError(
    "before",
    `"${text}" is not a cursor of this listing (${byTime ? "by time" : "by id"}); pass the \`next\` of the previous page with the same filters`,
  );
}

export class SqlAuditReads implements AuditReads {
  constructor(
    private readonly tables: Tables,
    private readonly fragments: AuditFragments,
    private readonly run: (query: SQL) => Promise<AuditRow[]>,
    private readonly archiveEnabled: () => Promise<boolean>,
  ) {}

  async list(query: TaskQuery, page: { limit: number; after?: string | undefined; order: ListOrder }): Promise<ListedRow[]> {
    const byTime = listsByTime(query, page.order);
    const after = page.after === undefined ? undefined : parseCursor(page.after, byTime);
    const rows = await this.run(listTasks(await this.tiers(), query, { limit: page.limit, order: page.order, after }, this.fragments));
    return rows.map((raw) => {
      const id = Number(raw["id"]);
      return { id, cursor: byTime ? `${String(raw["at"])}/${id}` : String(id), row: toTaskRow(raw as unknown as RawTaskRow) };
    });
  }

  async count(query: TaskQuery): Promise<number> {
    const rows = await this.run(countTasks(await this.tiers(), query, this.fragments));
    return Number(rows[0]?.["n"] ?? 0);
  }

  async countBy(query: TaskQuery, column: "status" | "name" | "worker" | "queue" | "hour", limit: number): Promise<KeyCount[]> {
    const t = await this.tiers();
    const rows = await this.run(
      column === "hour" ? countByHour(t, query, this.fragments, limit) : countByColumn(t, query, column, limit, this.fragments),
    );
    return rows.map((r) => ({ key: text(r["group_key"]), count: Number(r["n"]), failures: Number(r["failures"] ?? 0) }));
  }

  async countByStateNameWorker(query: TaskQuery): Promise<StateNameWorkerCount[]> {
    const rows = await this.run(countByStateNameWorker(await this.tiers(), query, this.fragments));
    return rows.map((r) => ({ status: text(r["status"]), name: text(r["name"]), worker: text(r["worker"]), count: Number(r["n"]) }));
  }

  async countByTimeBucket(query: TaskQuery, seconds: number): Promise<BucketCount[]> {
    const rows = await this.run(countByTimeBucket(await this.tiers(), query, this.fragments, seconds));
    return rows.map((r) => ({ start: Number(r["bucket"]), count: Number(r["n"]), failures: Number(r["failures"] ?? 0) }));
  }

  async countFailuresByValue(query: TaskQuery, limit: number): Promise<FailureValueCount[]> {
    const rows = await this.run(countFailuresByValue(await this.tiers(), query, this.fragments, limit));
    return rows.map((r) => {
      const lastSeen = time(r["last_seen"]);
      return {
        row: {
          taskId: String(r["sample"]),
          status: FAILURE,
          result: (r["result"] as Buffer | null) ?? null,
          traceback: null,
          dateDone: lastSeen,
          name: text(r["name"]),
          args: null,
          kwargs: null,
          worker: null,
          retries: null,
          queue: null,
          children: null,
          parentId: null,
          groupId: null,
          dateUpdated: null,
        },
        count: Number(r["n"]),
        firstSeen: time(r["first_seen"]),
        lastSeen,
      };
    });
  }

  async timings(query: TaskQuery): Promise<TaskTiming[]> {
    const rows = await this.run(taskTimings(await this.tiers(), query, this.fragments));
    return rows.map((r) => ({ name: text(r["name"]), sent: time(r["sent"]), started: time(r["started"]), done: time(r["done"]) }));
  }

  /** Both tiers once the archive exists: every audit read sees archived rows too. */
  private async tiers(): Promise<Tables> {
    return auditTables(this.tables, await this.archiveEnabled());
  }
}
