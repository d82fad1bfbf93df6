/**
 * The SQLite writes (task store, batch store, group save) on one better-sqlite3 connection: the
 * driver's own, or the caller's inside the caller's transaction. Same statements either
 * way, so triggers and the precedence guard apply identically. They run synchronously: better-
 * sqlite3 transactions cannot await, and a write inside `db.transaction(() => …)` must have run,
 * or thrown, before that function returns.
 */
import type Database from "better-sqlite3";
import type { GroupRow, TaskWrite } from "../driver.js";
import type { SqliteDatabaseLike } from "../external.js";
import { toNaiveUtc } from "../naive-utc.js";
import { precedenceGuard } from "../precedence.js";
import { taskColumnValues } from "../rows.js";
import type { Tables } from "../tables.js";
import { interpretError } from "./errors.js";
import type { SqliteStatementTexts } from "./statements.js";

export class SqliteWrites {
  private store: Database.Statement | undefined;
  private group: Database.Statement | undefined;
  private readonly storeManyTx: Database.Transaction<(writes: readonly TaskWrite[]) => number>;
  private readonly storeTiersTx: Database.Transaction<(w: TaskWrite) => number>;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: SqliteDatabaseLike,
    private readonly texts: SqliteStatementTexts,
    private readonly tables: Tables,
  ) {
    // Inside an open transaction better-sqlite3 runs this as a SAVEPOINT of that transaction.
    this.storeManyTx = db.transaction((writes: readonly TaskWrite[]) => {
      let written = 0;
      if (this.archivePresent()) for (const w of writes) written += this.storeAcrossTiers(w);
      else {
        const store = this.storeStatement();
        for (const w of writes) written += store.run(...writeParams(w)).changes;
      }
      return written;
    });
    this.storeTiersTx = db.transaction((w: TaskWrite) => this.storeAcrossTiers(w));
  }

  taskStore(w: TaskWrite): boolean {
    if (this.archivePresent()) return this.storeTiersTx.immediate(w) > 0;
    return this.storeStatement().run(...writeParams(w)).changes > 0;
  }

  /**
   * A store once the archive exists: the precedence guard holds across tiers. With no hot row,
   * the latest archived row of the id judges the write (a late STARTED after an archived SUCCESS
   * is refused, as it is for a hot one), and a write it lets through supersedes the archived row:
   * the new hot row keeps what the write does not say, and the archived row goes, so an id is in
   * one tier once. SQLite's single writer makes the check and the write one step (same transaction).
   */
  private storeAcrossTiers(w: TaskWrite): number {
    const t = this.tables;
    if (this.cached(`SELECT 1 FROM ${t.task} WHERE task_id = ?`).get(w.taskId) === undefined) {
      const archived = this.cached(
        `SELECT ${precedenceGuard("a.status", "@status", "@replace_ready")} AS ok, ${CARRIED.join(", ")}
        FROM ${t.archive} AS a WHERE a.task_id = @task_id ORDER BY a.archived_at DESC, a.id DESC LIMIT 1`,
      ).get({ task_id: w.taskId, status: w.status, replace_ready: w.replaceReady ? 1 : 0 }) as
        ({ ok: number } & Record<(typeof CARRIED)[number], unknown>) | undefined;
      if (archived) {
        if (!archived.ok) return 0;
        const params = writeParams(w);
        // Positions in TASK_COLUMNS: name..queue (5-10) when the write has no request metadata,
        // children, parent_id, group_id (11-13) when it leaves them out.
        CARRIED.forEach((column, i) => {
          const at = 5 + i;
          if (at <= 10 ? w.extended === null : params[at] === null) params[at] = archived[column];
        });
        const written = this.storeStatement().run(...params).changes;
        if (written > 0) this.cached(`DELETE FROM ${t.archive} WHERE task_id = ?`).run(w.taskId);
        return written;
      }
    }
    return this.storeStatement().run(...writeParams(w)).changes;
  }

  /** Whether the archive exists on this connection: one lookup in SQLite's in-memory schema, no I/O. */
  archivePresent(): boolean {
    return (
      this.cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(`${this.tables.config.task}_archive`) !== undefined
    );
  }

  private cached(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.prepare(text)));
    return statement;
  }

  taskStoreMany(writes: readonly TaskWrite[]): number {
    return this.storeManyTx.immediate(writes);
  }

  /** Forgets tasks (and, through the delete triggers, their history) in both tiers. */
  taskForget(taskIds: readonly string[]): number {
    const t = this.tables;
    const ids = JSON.stringify(taskIds);
    if (!this.archivePresent()) return this.cached(this.texts.taskForget).run(ids).changes;
    return this.db
      .transaction(() => {
        const gone = this.cached(
          `SELECT count(DISTINCT task_id) AS n FROM (SELECT task_id FROM ${t.task} WHERE task_id IN (SELECT value FROM json_each(?))
          UNION ALL SELECT task_id FROM ${t.archive} WHERE task_id IN (SELECT value FROM json_each(?)))`,
        ).get(ids, ids) as { n: number };
        this.cached(this.texts.taskForget).run(ids);
        this.cached(`DELETE FROM ${t.archive} WHERE task_id IN (SELECT value FROM json_each(?))`).run(ids);
        return gone.n;
      })
      .immediate();
  }

  groupSave(row: GroupRow): void {
    this.group ??= this.prepare(this.texts.groupSave);
    this.group.run(row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone));
  }

  // Prepared on first use: the tables exist only once migrations have run.
  private storeStatement(): Database.Statement {
    return (this.store ??= this.prepare(this.texts.taskStore));
  }

  private prepare(text: string): Database.Statement {
    try {
      return this.db.prepare(text) as Database.Statement;
    } catch (error) {
      throw interpretError(error, this.tables);
    }
  }
}

/** The columns an archived row hands to the new hot row that supersedes it, in TASK_COLUMNS order from name on. */
const CARRIED = ["name", "args", "kwargs", "worker", "retries", "queue", "children", "parent_id", "group_id"] as const;

/** taskStore's parameters in statement order: the 15 columns, `extended` six times, `replaceReady`. */
function writeParams(w: TaskWrite): unknown[] {
  const extended = w.extended !== null ? 1 : 0;
  const params = taskColumnValues(w);
  params.push(extended, extended, extended, extended, extended, extended, w.replaceReady ? 1 : 0);
  return params;
}
