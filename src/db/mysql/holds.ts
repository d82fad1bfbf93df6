/** Legal holds on MySQL: a row per held id in `<task table>_hold`. */
import type { HoldRow } from "../driver.js";
import { fromNaiveUtc, toNaiveUtc } from "../naive-utc.js";
import type { MysqlExecutor } from "./executor.js";
import { LIST_SLICE, listSlices, type MysqlStatements } from "./statements.js";

/** Places holds; an existing one keeps its time and reason. Returns how many are new. */
export async function taskHold(
  run: MysqlExecutor,
  sql: MysqlStatements,
  foundRows: boolean,
  p: { taskIds: readonly string[]; now: Date; reason: string | null },
): Promise<number> {
  const ids = [...new Set(p.taskIds)];
  if (ids.length === 0) return 0;
  // One statement per slice; an INSERT takes at most 65,535 placeholders (three per hold).
  if (ids.length > LIST_SLICE / 4) {
    let placed = 0;
    for (let i = 0; i < ids.length; i += LIST_SLICE / 4)
      placed += await taskHold(run, sql, foundRows, { ...p, taskIds: ids.slice(i, i + LIST_SLICE / 4) });
    return placed;
  }
  // Counting found rows, an existing hold reports 1 like a new one: those are counted first.
  const existing = foundRows ? (await taskHolds(run, sql, ids)).length : 0;
  const at = toNaiveUtc(p.now);
  const result = await run.write(
    sql.taskHold(ids.length),
    ids.flatMap((id) => [id, at, p.reason]),
  );
  return result.affectedRows - existing;
}

export async function taskRelease(run: MysqlExecutor, sql: MysqlStatements, taskIds: readonly string[]): Promise<number> {
  let released = 0;
  for (const ids of listSlices([...new Set(taskIds)])) released += (await run.write(sql.taskRelease(ids.length), ids)).affectedRows;
  return released;
}

export async function taskHolds(run: MysqlExecutor, sql: MysqlStatements, taskIds: readonly string[]): Promise<HoldRow[]> {
  const holds: HoldRow[] = [];
  for (const ids of listSlices([...new Set(taskIds)])) {
    const rows = await run.execute<{ task_id: string; held_at: string; reason: string | null }>(sql.taskHolds(ids.length), ids);
    holds.push(...rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason })));
  }
  return holds;
}
