/**
 * The PostgreSQL writes (task store, batch store, group save) over any query function: the
 * driver runs them on its pool, a transaction writer on the caller's client inside the
 * caller's transaction. Same statements either way, so triggers and the precedence guard apply
 * identically; their NOTIFY is delivered by PostgreSQL at commit, and not at all on rollback.
 */
import { createHash } from "node:crypto";
import type pg from "pg";
import type { GroupRow, TaskWrite } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { taskColumnValues } from "../rows.js";
import type { PgStatements } from "./statements.js";

export type RunQuery = <R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig) => Promise<pg.QueryResult<R>>;

/**
 * Prepared-statement names carry a hash of the statements: on an application's pool two
 * backends with different table names may share a connection, and node-postgres refuses one
 * name for two texts.
 */
export function statementNames(statements: PgStatements): Record<keyof PgStatements, string> {
  const suffix = createHash("sha256").update(JSON.stringify(statements)).digest("hex").slice(0, 10);
  return Object.fromEntries(Object.keys(statements).map((key) => [key, `tl_${key}_${suffix}`])) as Record<keyof PgStatements, string>;
}

export class PgWrites {
  constructor(
    private readonly sql: PgStatements,
    private readonly names: Record<keyof PgStatements, string>,
  ) {}

  /** `tiers`: the archive exists, so the precedence guard must look there too. */
  async taskStore(run: RunQuery, w: TaskWrite, tiers: boolean): Promise<boolean> {
    const values = [...taskColumnValues(w), w.extended !== null, w.replaceReady];
    if (tiers) {
      // One row: how many it wrote (the hot row updated, or a new one inserted).
      const result = await run<{ written: string }>({ name: this.names.taskStoreTiers, text: this.sql.taskStoreTiers, values });
      return Number(result.rows[0]!.written) > 0;
    }
    const result = await run({ name: this.names.taskStore, text: this.sql.taskStore, values });
    return (result.rowCount ?? 0) > 0;
  }

  async taskStoreMany(run: RunQuery, writes: readonly TaskWrite[], tiers: boolean): Promise<number> {
    let written = 0;
    // extended and replaceReady are per statement, and a batch with no request metadata at all
    // takes the lean statement, so a mixed batch becomes one statement per kind.
    const isLean = (w: TaskWrite) => w.extended === null && w.children === null && w.parentId === null && w.groupId === null;
    for (const batch of groupBy(writes, (w) => `${w.extended !== null}:${w.replaceReady}:${isLean(w)}`)) {
      const first = batch[0]!;
      const lean = !tiers && isLean(first);
      const values = lean ? leanValues : taskColumnValues;
      const columns: unknown[][] = Array.from({ length: lean ? 6 : 15 }, () => []);
      for (const w of batch) values(w).forEach((value, i) => columns[i]!.push(value));
      const result = await run<{ written: number }>(
        lean
          ? { name: this.names.taskStoreManyLean, text: this.sql.taskStoreManyLean, values: [...columns, first.replaceReady] }
          : {
              name: this.names[tiers ? "taskStoreManyTiers" : "taskStoreMany"],
              text: this.sql[tiers ? "taskStoreManyTiers" : "taskStoreMany"],
              values: [...columns, first.extended !== null, first.replaceReady],
            },
      );
      written += result.rows[0]!.written;
    }
    return written;
  }

  async groupSave(run: RunQuery, row: GroupRow): Promise<void> {
    await run({
      name: this.names.groupSave,
      text: this.sql.groupSave,
      values: [row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone)],
    });
  }
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
