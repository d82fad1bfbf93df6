/**
 * The MySQL writes (task store, batch store, group save) over an executor: the driver's pool, or
 * the caller's connection inside the caller's transaction. Same statements either way, so the
 * triggers and the precedence guard apply identically.
 *
 * Values are checked against their columns before anything is sent: on a table Celery created,
 * `result`, `args` and `kwargs` are BLOB (64 KiB) and `traceback` TEXT, and a larger value must be
 * refused with what to do, never cut.
 */
import { ValueTooLargeError } from "../../errors.js";
import type { GroupRow, TaskWrite } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { taskColumnValues } from "../rows.js";
import { isReady, PENDING } from "../../states.js";
import type { Tables } from "../tables.js";
import type { MysqlExecutor } from "./executor.js";
import { buildStatements, taskStoreSql, type IdSource } from "./statements.js";

/** Byte capacities of the value columns as the database has them (Celery's BLOB, taskledger's LONGBLOB). */
export interface ColumnLimits {
  task: Partial<Record<"result" | "args" | "kwargs" | "children" | "traceback", number>>;
  group: Partial<Record<"result", number>>;
  /** Whether a column is narrower than taskledger makes it: the table was created by Celery. */
  narrow: boolean;
  /** Where new rows' ids come from, per table. */
  ids: { task: IdSource; group: IdSource };
}

/** Rows per INSERT of a batch: 15 values each, far below the 65,535 placeholders of a statement. */
const BATCH_ROWS = 500;

export class MysqlTaskWrites {
  private readonly sql: ReturnType<typeof buildStatements>;

  constructor(
    private readonly tables: Tables,
    private readonly limits: () => Promise<ColumnLimits>,
    /** The connections count found rows (mysql2's default), so a refused write reports 1 affected row, not 0. */
    private readonly foundRows: boolean,
  ) {
    this.sql = buildStatements(tables);
  }

  /**
   * The single-row upsert's text, built once per kind (eight at most): building it (fourteen
   * guarded assignments) took 12.5 µs per store, about 2.5% of a 0.5 ms store on the shared machine.
   */
  private singleStore(ids: IdSource, extended: boolean, replaceReady: boolean): string {
    const key = `${ids}:${extended}:${replaceReady}`;
    let sql = this.storeTexts.get(key);
    if (sql === undefined) this.storeTexts.set(key, (sql = taskStoreSql(this.tables, ids, 1, extended, replaceReady, this.foundRows)));
    return sql;
  }

  private readonly storeTexts = new Map<string, string>();

  /** One statement; true when it inserted or updated the row, false when the guard kept it. */
  async taskStore(run: MysqlExecutor, w: TaskWrite): Promise<boolean> {
    await this.checkSizes([w]);
    const sql = this.singleStore((await this.limits()).ids.task, w.extended !== null, w.replaceReady);
    if (this.foundRows) {
      // Counting found rows, a refused write reports 1 affected row like an insert (and triggers
      // clear the insert id that LAST_INSERT_ID(id) would set): the row as it now stands says it.
      const [row] = await run.execute<{ status: string | null; date_updated: string | null }>(sql, taskColumnValues(w));
      return row?.status === w.status && row.date_updated === toNaiveUtc(w.dateUpdated);
    }
    // 1 inserted, 2 updated, 0 unchanged (the guard kept the row).
    return (await run.write(sql, taskColumnValues(w))).affectedRows > 0;
  }

  /**
   * Multi-row upserts in task_id order (concurrent batches over the same ids lock rows in one
   * order, so they do not deadlock), at most BATCH_ROWS per statement, one statement per kind of
   * write (extended, replaceReady). Returns rows inserted or updated: the reply counts 1 per insert
   * and 2 per update, and its info names the updates ("Duplicates: n").
   */
  async taskStoreMany(run: MysqlExecutor, writes: readonly TaskWrite[]): Promise<number> {
    if (writes.length === 0) return 0;
    await this.checkSizes(writes);
    const limits = await this.limits();
    if (this.foundRows) {
      // Found rows blur refused and inserted rows in a multi-row reply; row by row each is told apart.
      let written = 0;
      for (const w of writes) if (await this.taskStore(run, w)) written++;
      return written;
    }
    let written = 0;
    const kinds = new Map<string, TaskWrite[]>();
    for (const w of writes) {
      const key = `${w.extended !== null}:${w.replaceReady}`;
      const list = kinds.get(key);
      if (list) list.push(w);
      else kinds.set(key, [w]);
    }
    for (const list of kinds.values()) {
      const sorted = [...list].sort((a, b) => Buffer.compare(Buffer.from(a.taskId), Buffer.from(b.taskId)));
      for (let i = 0; i < sorted.length; i += BATCH_ROWS) {
        const chunk = sorted.slice(i, i + BATCH_ROWS);
        const first = chunk[0]!;
        const result = await run.write(
          taskStoreSql(this.tables, limits.ids.task, chunk.length, first.extended !== null, first.replaceReady),
          chunk.flatMap(taskColumnValues),
        );
        const updated = Number(/Duplicates: (\d+)/.exec(result.info)?.[1] ?? 0);
        written += result.affectedRows - updated;
      }
    }
    return written;
  }

  /**
   * A store once the archive exists, inside a transaction on `run`'s connection: the precedence
   * guard holds across tiers. The hot row is locked first (FOR UPDATE): a move holding it makes
   * the store wait, and then find the row in the archive. With no hot row, the latest archived
   * row of the id judges the write (a late STARTED after an archived SUCCESS is refused, as for a
   * hot one), and a write it lets through supersedes it: the new hot row keeps what the write does
   * not say, and the archived rows go, so an id is in one tier once. Unlike PostgreSQL's single
   * statement, this takes three round trips, and only where an archive exists.
   */
  async taskStoreTiers(run: MysqlExecutor, w: TaskWrite): Promise<boolean> {
    const t = this.tables;
    if ((await run.execute(`SELECT 1 AS hot FROM ${t.task} WHERE task_id = ? FOR UPDATE`, [w.taskId])).length === 0) {
      const [archived] = await run.execute<Record<string, unknown> & { status: string | null }>(
        `SELECT status, ${CARRIED.join(", ")} FROM ${t.archive} WHERE task_id = ? ORDER BY archived_at DESC, id DESC LIMIT 1 FOR UPDATE`,
        [w.taskId],
      );
      if (archived) {
        if (!guardAllows(archived.status, w.status, w.replaceReady)) return false;
        await this.checkSizes([w]);
        const params = taskColumnValues(w);
        // Positions in TASK_COLUMNS: name..queue (5-10) when the write has no request metadata,
        // children, parent_id, group_id (11-13) when it leaves them out.
        CARRIED.forEach((column, i) => {
          const at = 5 + i;
          if (at <= 10 ? w.extended === null : params[at] === null) params[at] = archived[column];
        });
        const sql = taskStoreSql(t, (await this.limits()).ids.task, 1, true, w.replaceReady);
        await run.write(sql, params);
        await run.write(`DELETE FROM ${t.archive} WHERE task_id = ?`, [w.taskId]);
        return true;
      }
    }
    return this.taskStore(run, w);
  }

  /** taskStoreMany once the archive exists: row by row in task_id order, in the caller's transaction. */
  async taskStoreManyTiers(run: MysqlExecutor, writes: readonly TaskWrite[]): Promise<number> {
    let written = 0;
    const sorted = [...writes].sort((a, b) => Buffer.compare(Buffer.from(a.taskId), Buffer.from(b.taskId)));
    for (const w of sorted) if (await this.taskStoreTiers(run, w)) written++;
    return written;
  }

  async groupSave(run: MysqlExecutor, row: GroupRow): Promise<void> {
    const limits = await this.limits();
    const limit = limits.group.result;
    if (row.result && limit !== undefined && row.result.length > limit)
      throw this.tooLarge(this.tables.group, "result", row.result.length, limit);
    await run.write(this.sql.groupSave(limits.ids.group), [row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone)]);
  }

  private async checkSizes(writes: readonly TaskWrite[]): Promise<void> {
    const limits = await this.limits();
    for (const w of writes) {
      const sizes: [keyof ColumnLimits["task"], number | undefined][] = [
        ["result", w.result?.length],
        ["args", w.extended?.args?.length],
        ["kwargs", w.extended?.kwargs?.length],
        ["children", w.children?.length],
        ["traceback", w.traceback === null ? undefined : Buffer.byteLength(w.traceback)],
      ];
      for (const [column, size] of sizes) {
        const limit = limits.task[column];
        if (size !== undefined && limit !== undefined && size > limit) throw this.tooLarge(this.tables.task, column, size, limit);
      }
    }
  }

  private tooLarge(table: string, column: string, size: number, limit: number): ValueTooLargeError {
    const type = column === "traceback" ? "LONGTEXT" : "LONGBLOB";
    return new ValueTooLargeError(
      column,
      size,
      limit,
      `${table}.${column} is narrower than taskledger makes it (a table Celery created, whose BLOB and TEXT hold 64 KiB); widen it with \`taskledger migrate --widen\` (or \`ALTER TABLE ${table} MODIFY ${column} ${type}\`; Celery reads ${type} the same), or store a smaller value.`,
    );
  }
}

/** The columns an archived row hands to the new hot row that supersedes it, in TASK_COLUMNS order from name on. */
const CARRIED = ["name", "args", "kwargs", "worker", "retries", "queue", "children", "parent_id", "group_id"] as const;

/** precedenceGuard (db/precedence.ts) in memory, for a row read under its lock. */
function guardAllows(current: string | null, incoming: string, replaceReady: boolean): boolean {
  if (current === null) return true;
  return (!isReady(current) || (isReady(incoming) && replaceReady)) && (incoming !== PENDING || current === PENDING);
}

/** The capacities of the value columns, from information_schema (bytes; NULL for columns absent). */
export async function readColumnLimits(run: MysqlExecutor, t: Tables): Promise<ColumnLimits> {
  const rows = await run.query<{ t: string; c: string; n: number | string | null; extra: string | null }>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, CHARACTER_OCTET_LENGTH AS n, EXTRA AS extra FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME IN ('id', 'result', 'args', 'kwargs', 'children', 'traceback')
      UNION ALL
      SELECT TABLE_NAME, COLUMN_NAME, CHARACTER_OCTET_LENGTH, EXTRA FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME IN ('id', 'result')`,
    [t.config.taskSchema, t.config.task, t.config.groupSchema, t.config.group],
  );
  const limits: ColumnLimits = { task: {}, group: {}, narrow: false, ids: { task: "sequence", group: "sequence" } };
  for (const row of rows) {
    if (row.c === "id") {
      if (/auto_increment/i.test(row.extra ?? "")) limits.ids[row.t === t.config.group ? "group" : "task"] = "auto_increment";
      continue;
    }
    if (row.n === null) continue;
    const n = Number(row.n);
    if (n < 4_294_967_295) limits.narrow = true;
    if (row.t === t.config.group) limits.group.result = n;
    else limits.task[row.c as keyof ColumnLimits["task"]] = n;
  }
  return limits;
}
