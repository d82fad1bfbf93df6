/**
 * Task history on PostgreSQL: rows written by triggers (migrations/pg/0002_history.sql) for every
 * writer's commits, not only ours, and switched on or off by creating or dropping those triggers.
 */
import type { TaskHistoryEntry, TaskHistoryRow } from "../driver.js";
import { historyTriggerStatements } from "../migrations.js";
import { toHistoryRow, type RawHistoryRow } from "../rows.js";
import { quoteIdentifier } from "../tables.js";
import { citusHistoryFunctions, citusTriggerStatements, dropHistoryTriggers, UNSAFE_TRIGGERS } from "./distribute.js";
import type { PgExecutor } from "./executor.js";

export class PgHistory {
  constructor(
    private readonly exec: PgExecutor,
    /** Whether the tables are distributed by Citus: then the triggers take their Citus form (pg/distribute.ts). */
    private readonly citus: () => Promise<boolean>,
  ) {}

  async taskHistory(taskId: string, tiers: boolean): Promise<TaskHistoryRow[]> {
    return (await this.exec.statement<RawHistoryRow>(tiers ? "taskHistoryTiers" : "taskHistory", [taskId])).rows.map(toHistoryRow);
  }

  async taskHistoryAfter(p: { taskIds: readonly string[]; afterId: number; limit: number }): Promise<TaskHistoryEntry[]> {
    if (p.taskIds.length === 0) return [];
    const result = await this.exec.statement<RawHistoryRow & { id: string }>("taskHistoryAfter", [p.taskIds, p.afterId, p.limit]);
    return result.rows.map((r) => ({ ...toHistoryRow(r), id: Number(r.id) }));
  }

  async taskHistoryLatestId(taskIds: readonly string[]): Promise<number> {
    if (taskIds.length === 0) return 0;
    return Number((await this.exec.statement<{ id: string }>("taskHistoryLatestId", [taskIds])).rows[0]?.id ?? 0);
  }

  async historyEnabled(): Promise<boolean> {
    return (await this.triggerCount()) === this.exec.tables.historyTriggers.length;
  }

  /** Drops the history triggers and, to switch history on, creates them again: one transaction. */
  async historySet(on: boolean): Promise<boolean> {
    const t = this.exec.tables;
    const n = await this.triggerCount();
    if (on ? n === t.historyTriggers.length : n === 0) return false;
    const citus = await this.citus();
    const session = await this.exec.dedicated();
    try {
      await session.query("BEGIN");
      if (citus) {
        await session.query(UNSAFE_TRIGGERS);
        for (const statement of dropHistoryTriggers(t)) await session.query(statement);
        if (on) {
          const sequence = await session.query<{ seq: string }>("SELECT pg_get_serial_sequence($1, 'id') AS seq", [t.history]);
          for (const statement of citusHistoryFunctions(t, sequence.rows[0]!.seq)) await session.query(statement);
          // Only the two history triggers: the delete trigger is always there.
          for (const statement of citusTriggerStatements(t, true).slice(0, 2)) await session.query(statement);
        }
        await session.query("COMMIT");
        return true;
      }
      for (const name of t.historyTriggers)
        await session.query(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")} ON ${t.task}`);
      if (on) for (const statement of historyTriggerStatements("postgresql", t)) await session.query(statement);
      await session.query("COMMIT");
      return true;
    } catch (error) {
      await session.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await session.end().catch(() => undefined);
    }
  }

  private async triggerCount(): Promise<number> {
    const result = await this.exec.query<{ n: number }>({
      text: "SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = ANY($2::text[])",
      values: [this.exec.tables.task, this.exec.tables.historyTriggers],
    });
    return result.rows[0]!.n;
  }
}
