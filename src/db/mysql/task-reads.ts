/** Task reads and forgets on MySQL: point reads by the unique task_id index, lists as one IN. */
import type { TaskRow } from "../driver.js";
import { toTaskRow, type RawTaskRow } from "../rows.js";
import type { MysqlExecutor } from "./executor.js";
import { listSlices, type MysqlStatements } from "./statements.js";

export async function taskGet(run: MysqlExecutor, sql: MysqlStatements, taskId: string): Promise<TaskRow | undefined> {
  const row = (await run.execute<RawTaskRow>(sql.taskGet, [taskId]))[0];
  return row && toTaskRow(row);
}

export async function taskGetMany(run: MysqlExecutor, sql: MysqlStatements, taskIds: readonly string[]): Promise<TaskRow[]> {
  const rows: TaskRow[] = [];
  for (const ids of listSlices([...new Set(taskIds)]))
    rows.push(...(await run.execute<RawTaskRow>(sql.taskGetMany(ids.length), ids)).map(toTaskRow));
  return rows;
}

export async function taskExists(run: MysqlExecutor, sql: MysqlStatements, taskId: string): Promise<boolean> {
  return (await run.execute(sql.taskExists, [taskId])).length > 0;
}

export async function taskForget(run: MysqlExecutor, sql: MysqlStatements, taskIds: readonly string[]): Promise<number> {
  let forgotten = 0;
  for (const ids of listSlices([...new Set(taskIds)])) forgotten += (await run.write(sql.taskForget(ids.length), ids)).affectedRows;
  return forgotten;
}
