/** Group rows on MySQL (saving one is a write: ./task-writes.ts, so it also runs in a caller's transaction). */
import type { GroupRow } from "../driver.js";
import { toGroupRow, type RawGroupRow } from "../rows.js";
import type { MysqlExecutor } from "./executor.js";
import type { MysqlStatements } from "./statements.js";

export class MysqlGroups {
  constructor(
    private readonly run: MysqlExecutor,
    private readonly sql: MysqlStatements,
  ) {}

  async groupGet(groupId: string): Promise<GroupRow | undefined> {
    const row = (await this.run.execute<RawGroupRow>(this.sql.groupGet, [groupId]))[0];
    return row ? toGroupRow(row) : undefined;
  }

  async groupDelete(groupId: string): Promise<boolean> {
    return (await this.run.write(this.sql.groupDelete, [groupId])).affectedRows > 0;
  }
}
