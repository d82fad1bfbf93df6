/** Reading tasks on PostgreSQL: the hot row, else (with an archive) the latest archived one, in one statement and so one snapshot. */
import type { TaskRow } from "../driver.js";
import { toTaskRow, type RawTaskRow } from "../rows.js";
import type { PgExecutor } from "./executor.js";

export class PgTaskReads {
  constructor(
    private readonly exec: PgExecutor,
    /** Whether the tables are distributed by Citus: reads across tiers then take router forms. */
    private readonly citus: () => Promise<boolean> = async () => false,
  ) {}

  async taskGet(taskId: string, tiers: boolean): Promise<TaskRow | undefined> {
    const key = tiers ? ((await this.citus()) ? "taskGetTiersCitus" : "taskGetTiers") : "taskGet";
    const row = (await this.exec.statement<RawTaskRow>(key, [taskId])).rows[0];
    return row && toTaskRow(row);
  }

  async taskGetMany(taskIds: readonly string[], tiers: boolean): Promise<TaskRow[]> {
    if (taskIds.length === 0) return [];
    const key = tiers ? ((await this.citus()) ? "taskGetManyTiersCitus" : "taskGetManyTiers") : "taskGetMany";
    return (await this.exec.statement<RawTaskRow>(key, [taskIds])).rows.map(toTaskRow);
  }

  async taskExists(taskId: string, tiers: boolean): Promise<boolean> {
    return ((await this.exec.statement(tiers ? "taskExistsTiers" : "taskExists", [taskId])).rowCount ?? 0) > 0;
  }

  async tablesExist(): Promise<boolean> {
    const result = await this.exec.query<{ present: boolean }>({
      text: "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS present",
      values: [this.exec.tables.task, this.exec.tables.group],
    });
    return result.rows[0]!.present;
  }
}
