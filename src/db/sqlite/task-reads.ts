/**
 * Reading tasks on SQLite: the hot row, else (with an archive) the latest archived one. A read is
 * one synchronous step on one connection, so it sees one state of the file.
 */
import { TIER_COLUMNS } from "../archive.js";
import type { TaskRow } from "../driver.js";
import { toTaskRow, type RawTaskRow } from "../rows.js";
import type { SqliteExecutor } from "./executor.js";

export class SqliteTaskReads {
  constructor(
    private readonly exec: SqliteExecutor,
    private readonly archivePresent: () => boolean,
  ) {}

  taskGet(taskId: string): Promise<TaskRow | undefined> {
    return this.exec.run(() => {
      const hot = this.exec.statements.taskGet.get(taskId) as RawTaskRow | undefined;
      if (hot) return toTaskRow(hot);
      if (!this.archivePresent()) return undefined;
      // The latest archived row, as in every read (an id archived twice by older versions has two).
      const cold = this.exec
        .cached(`SELECT ${TIER_COLUMNS} FROM ${this.exec.tables.archive} WHERE task_id = ? ORDER BY archived_at DESC, id DESC LIMIT 1`)
        .get(taskId) as RawTaskRow | undefined;
      return cold && toTaskRow(cold);
    });
  }

  taskGetMany(taskIds: readonly string[]): Promise<TaskRow[]> {
    if (taskIds.length === 0) return Promise.resolve([]);
    return this.exec.run(() => {
      const ids = JSON.stringify(taskIds);
      if (!this.archivePresent()) return (this.exec.statements.taskGetMany.all(ids) as RawTaskRow[]).map(toTaskRow);
      // Archive rows first, oldest move first, so for an id in both tiers the hot row (read last)
      // wins, and among archived rows the latest, as taskGet reads them.
      const t = this.exec.tables;
      const rows = this.exec
        .cached(
          `SELECT ${TIER_COLUMNS} FROM (
            SELECT ${TIER_COLUMNS}, 0 AS tier, archived_at FROM ${t.archive} WHERE task_id IN (SELECT value FROM json_each(?))
            UNION ALL SELECT ${TIER_COLUMNS}, 1 AS tier, NULL FROM ${t.task} WHERE task_id IN (SELECT value FROM json_each(?)))
          ORDER BY tier, archived_at, id`,
        )
        .all(ids, ids) as RawTaskRow[];
      return [...new Map(rows.map((row) => [row.task_id, toTaskRow(row)])).values()];
    });
  }

  taskExists(taskId: string): Promise<boolean> {
    return this.exec.run(() => {
      if (this.exec.statements.taskExists.get(taskId) !== undefined) return true;
      return (
        this.archivePresent() && this.exec.cached(`SELECT 1 FROM ${this.exec.tables.archive} WHERE task_id = ?`).get(taskId) !== undefined
      );
    });
  }

  tablesExist(): Promise<boolean> {
    const t = this.exec.tables;
    return this.exec.run(
      () =>
        this.exec
          .cached("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)")
          .pluck()
          .get(t.config.task, t.config.group) === 2,
    );
  }
}
