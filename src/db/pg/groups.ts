/** Group rows on PostgreSQL (saving one is a write: ./task-writes.ts, so it also runs in a caller's transaction). */
import type { GroupRow } from "../driver.js";
import { toGroupRow, type RawGroupRow } from "../rows.js";
import type { PgExecutor } from "./executor.js";

export class PgGroups {
  constructor(private readonly exec: PgExecutor) {}

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const row = (await this.exec.statement<RawGroupRow>("groupGet", [groupId])).rows[0];
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    return ((await this.exec.statement("groupDelete", [groupId])).rowCount ?? 0) > 0;
  }
}
