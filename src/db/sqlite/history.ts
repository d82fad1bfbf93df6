/**
 * Task history on SQLite: rows written by triggers (migrations/sqlite) for every writer's commits,
 * not only ours, and switched on or off by creating or dropping those triggers.
 */
import type { TaskHistoryEntry, TaskHistoryRow } from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { toHistoryRow, type RawHistoryRow } from "../rows.js";
import { quoteIdentifier } from "../tables.js";
import type { SqliteExecutor } from "./executor.js";

export class SqliteHistory {
  constructor(private readonly exec: SqliteExecutor) {}

  taskHistory(taskId: string): Promise<TaskHistoryRow[]> {
    return this.exec.run(() => (this.exec.statements.taskHistory.all(taskId) as RawHistoryRow[]).map(toHistoryRow));
  }

  taskHistoryAfter(p: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]> {
    if (p.taskIds.length === 0) return Promise.resolve([]);
    return this.exec.run(() =>
      (
        this.exec.statements.taskHistoryAfter.all({
          ids: JSON.stringify(p.taskIds),
          after: p.afterId,
          limit: p.limit,
        }) as (RawHistoryRow & {
          id: number;
        })[]
      ).map((r) => ({ ...toHistoryRow(r), id: r.id })),
    );
  }

  taskHistoryLatestId(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return Promise.resolve(0);
    return this.exec.run(() => this.exec.statements.taskHistoryLatestId.pluck().get(JSON.stringify(taskIds)) as number);
  }

  historyEnabled(): Promise<boolean> {
    return this.exec.run(() => this.triggerCount() === this.exec.tables.historyTriggers.length);
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  historySet(on: boolean): Promise<boolean> {
    const t = this.exec.tables;
    return this.exec.run(() => {
      const n = this.triggerCount();
      if (on ? n === t.historyTriggers.length : n === 0) return false;
      const statements = on ? historyTriggerStatements("sqlite", t) : [];
      this.exec.immediate(() => {
        for (const name of t.historyTriggers) this.exec.db.exec(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")}`);
        for (const statement of statements) this.exec.db.exec(statement);
      });
      return true;
    });
  }

  private triggerCount(): number {
    return this.exec
      .cached("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (SELECT value FROM json_each(?))")
      .pluck()
      .get(JSON.stringify(this.exec.tables.historyTriggers)) as number;
  }
}
