/**
 * History on MySQL: the triggers of migrations/mysql append one row per state change by any
 * writer; switching history off drops the insert and update triggers (the delete trigger stays, so
 * rows still go with their task).
 */
import type { TaskHistoryEntry, TaskHistoryRow } from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { toHistoryRow, type RawHistoryRow } from "../rows.js";
import type { Tables } from "../tables.js";
import type { MysqlExecutor } from "./executor.js";
import { listSlices, type MysqlStatements } from "./statements.js";

export async function taskHistory(run: MysqlExecutor, sql: MysqlStatements, taskId: string): Promise<TaskHistoryRow[]> {
  return (await run.execute<RawHistoryRow>(sql.taskHistory, [taskId])).map(toHistoryRow);
}

/** History rows of these tasks after `afterId`, oldest first, at most `limit` (a group's ids in slices, merged by id). */
export async function taskHistoryAfter(
  run: MysqlExecutor,
  sql: MysqlStatements,
  p: { taskIds: readonly string[]; afterId: number; limit: number },
): Promise<TaskHistoryEntry[]> {
  const slices = listSlices([...new Set(p.taskIds)]);
  const rows: (RawHistoryRow & { id: number | string })[] = [];
  for (const ids of slices)
    rows.push(
      ...(await run.execute<RawHistoryRow & { id: number | string }>(sql.taskHistoryAfter(ids.length), [...ids, p.afterId, p.limit])),
    );
  if (slices.length > 1) rows.sort((a, b) => Number(a.id) - Number(b.id));
  return rows.slice(0, p.limit).map((r) => ({ ...toHistoryRow(r), id: Number(r.id) }));
}

/** The highest history id among these tasks, 0 when they have none. */
export async function taskHistoryLatestId(run: MysqlExecutor, sql: MysqlStatements, taskIds: readonly string[]): Promise<number> {
  let latest = 0;
  for (const ids of listSlices([...new Set(taskIds)])) {
    const [row] = await run.execute<{ id: number | string }>(sql.taskHistoryLatestId(ids.length), ids);
    latest = Math.max(latest, Number(row?.id ?? 0));
  }
  return latest;
}

export async function historyTriggerCount(run: MysqlExecutor, t: Tables): Promise<number> {
  const rows = await run.query<{ n: number }>(
    `SELECT count(*) AS n FROM information_schema.TRIGGERS
      WHERE EVENT_OBJECT_SCHEMA = COALESCE(?, DATABASE()) AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?)`,
    [t.config.taskSchema, t.config.task, [...t.historyTriggers]],
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Drops the history triggers and, to switch history on, creates them again. MySQL's DDL commits
 * as it goes, so this is not one transaction; it runs under the migration lock, and a run cut
 * short is finished by running it again.
 */
export async function historySet(run: MysqlExecutor, t: Tables, on: boolean): Promise<boolean> {
  const n = await historyTriggerCount(run, t);
  if (on ? n === t.historyTriggers.length : n === 0) return false;
  const schema = t.config.taskSchema ? `${t.quote(t.config.taskSchema, "tableSchemas.task")}.` : "";
  for (const name of t.historyTriggers) await run.query(`DROP TRIGGER IF EXISTS ${schema}${t.quote(name, "tableNames.task")}`);
  if (on) for (const statement of historyTriggerStatements("mysql", t)) await run.query(statement.replace(/;\s*$/, ""));
  return true;
}
