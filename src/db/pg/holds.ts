/** Legal holds on PostgreSQL: rows of the hold table, keyed by task id. */
import type { HoldRow } from "../driver.js";
import { fromNaiveUtc, toNaiveUtc } from "../naive-utc.js";
import type { PgExecutor } from "./executor.js";

export class PgHolds {
  constructor(private readonly exec: PgExecutor) {}

  async taskHold(p: { taskIds: readonly string[]; now: Date; reason: string | null }): Promise<number> {
    if (p.taskIds.length === 0) return 0;
    // Counted from RETURNING: on Citus, INSERT … SELECT through the coordinator reports the rows
    // it sent as its row count, conflicts included.
    return (await this.exec.statement("taskHold", [p.taskIds, toNaiveUtc(p.now), p.reason])).rows.length;
  }

  async taskRelease(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return (await this.exec.statement("taskRelease", [taskIds])).rowCount ?? 0;
  }

  async taskHolds(taskIds: readonly string[]): Promise<HoldRow[]> {
    if (taskIds.length === 0) return [];
    const result = await this.exec.statement<{ task_id: string; held_at: string; reason: string | null }>("taskHolds", [taskIds]);
    return result.rows.map((r) => ({ taskId: r.task_id, heldAt: fromNaiveUtc(r.held_at)!, reason: r.reason }));
  }
}
