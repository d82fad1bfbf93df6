/** Group rows on SQLite (saving one is a write: ./task-writes.ts, so it also runs in a caller's transaction). */
import type { GroupRow } from "../driver.js";
import { toGroupRow, type RawGroupRow } from "../rows.js";
import type { SqliteExecutor } from "./executor.js";

export class SqliteGroups {
  constructor(private readonly exec: SqliteExecutor) {}

  groupGet(groupId: string): Promise<GroupRow | undefined> {
    return this.exec.run(() => {
      const row = this.exec.statements.groupGet.get(groupId) as RawGroupRow | undefined;
      return row ? toGroupRow(row) : undefined;
    });
  }

  groupDelete(groupId: string): Promise<boolean> {
    return this.exec.run(() => this.exec.statements.groupDelete.run(groupId).changes > 0);
  }
}
