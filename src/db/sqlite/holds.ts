/** Legal holds on SQLite: rows of the hold table, keyed by task id. */
import type { HoldRow } from "../driver.js";
import { fromNaiveUtc, toNaiveUtc } from "../naive-utc.js";
import type { SqliteExecutor } from "./executor.js";

export class SqliteHolds {
  constructor(private readonly exec: SqliteExecutor) {}

  taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (p.taskIds.length === 0) return Promise.resolve(0);
    return this.exec.run(
      () => this.exec.statements.taskHold.run({ ids: JSON.stringify(p.taskIds), now: toNaiveUtc(p.now), reason: p.reason }).changes,
    );
  }

  taskRelease(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return Promise.resolve(0);
    return this.exec.run(() => this.exec.statements.taskRelease.run(JSON.stringify(taskIds)).changes);
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (taskIds.length === 0) return [];
    const rows = (await this.exec.run(() => this.exec.statements.taskHolds.all(JSON.stringify(taskIds)))) as {
      task_id: string;
      held_at: string;
      reason: string | null;
    }[];
    return rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason }));
  }
}
