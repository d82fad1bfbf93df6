/**
 * The SQLite writes (task store, batch store, group save) on one better-sqlite3 connection: the
 * driver's own, or the caller's inside the caller's transaction (#13). Same statements either
 * way, so triggers and the precedence guard apply identically. They run synchronously: better-
 * sqlite3 transactions cannot await, and a write inside `db.transaction(() => …)` must have run,
 * or thrown, before that function returns.
 */
import type Database from "better-sqlite3";
import { MissingTablesError } from "../../errors.js";
import type { GroupRow, TaskWrite } from "../driver.js";
import type { SqliteDatabaseLike } from "../external.js";
import { toNaiveUtc } from "../naive-utc.js";
import { taskColumnValues } from "../rows.js";
import type { Tables } from "../tables.js";
import type { SqliteStatementTexts } from "./statements.js";

export class SqliteWrites {
  private store: Database.Statement | undefined;
  private group: Database.Statement | undefined;
  private readonly storeManyTx: Database.Transaction<(writes: readonly TaskWrite[]) => number>;

  constructor(
    private readonly db: SqliteDatabaseLike,
    private readonly texts: SqliteStatementTexts,
    private readonly tables: Tables,
  ) {
    // Inside an open transaction better-sqlite3 runs this as a SAVEPOINT of that transaction.
    this.storeManyTx = db.transaction((writes: readonly TaskWrite[]) => {
      let written = 0;
      const store = this.storeStatement();
      for (const w of writes) written += store.run(...writeParams(w)).changes;
      return written;
    });
  }

  taskStore(w: TaskWrite): boolean {
    return this.storeStatement().run(...writeParams(w)).changes > 0;
  }

  taskStoreMany(writes: readonly TaskWrite[]): number {
    return this.storeManyTx.immediate(writes);
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
      throw interpretSqliteError(error, this.tables);
    }
  }
}

/** "no such table" becomes MissingTablesError; anything else passes through. */
export function interpretSqliteError(error: unknown, tables: Tables): unknown {
  if (error instanceof Error && /^no such table/.test(error.message)) return new MissingTablesError(tables.task, { cause: error });
  return error;
}

/** taskStore's parameters in statement order: the 15 columns, `extended` six times, `replaceReady`. */
function writeParams(w: TaskWrite): unknown[] {
  const extended = w.extended !== null ? 1 : 0;
  const params = taskColumnValues(w);
  params.push(extended, extended, extended, extended, extended, extended, w.replaceReady ? 1 : 0);
  return params;
}
