/**
 * Recording inside the caller's transaction: `backend.inTransaction(tx)` returns one of
 * these, bound to the application's open transaction. Its writes commit or roll back with the
 * application's own (a rolled-back transaction leaves no result, sends no notification, and
 * writes no history); a committed one wakes waiters: on PostgreSQL through the store statement's
 * NOTIFY, which PostgreSQL delivers at commit; on SQLite by this process once the transaction has
 * ended and the rows are there, and by `PRAGMA data_version` in every other process.
 *
 * Nothing is retried here: a statement that failed inside the caller's transaction has failed
 * that transaction (PostgreSQL aborts it), and only the caller can roll back and try again.
 */
import type { ResolvedOptions } from "../config.js";
import type { Driver, TaskWrite, TransactionDriver } from "../db/driver.js";
import { DatabaseError, TaskledgerError } from "../errors.js";
import type { TaskState } from "../states.js";
import type { ResultTuple, StoreItem } from "../types.js";
import { MarkAs, type StoreOptions } from "./mark-as.js";
import { buildTaskWrite, foldWrites, groupRow } from "./task-write.js";

export class TransactionWriter extends MarkAs {
  /** @internal Made by backend.inTransaction(tx). */
  constructor(
    private readonly tx: TransactionDriver,
    private readonly driver: Driver,
    private readonly options: ResolvedOptions,
    /** Tells this process's waiters which tasks were committed. */
    private readonly onCommitted: (taskIds: readonly string[]) => void,
  ) {
    super();
  }

  /**
   * Stores a task's state and result in the caller's transaction, with the precedence rule of
   * every store. On SQLite the statement has run (or thrown) when this returns, so it can be
   * called without await inside better-sqlite3's synchronous `db.transaction(() => …)`.
   */
  override storeResult(taskId: string, result: unknown, state: TaskState, options: StoreOptions = {}): Promise<boolean> {
    const write = this.taskWrite(taskId, result, state, options);
    return this.run("storeResult", taskId, () => this.tx.taskStore(write)).then((written) => {
      if (written) this.afterCommit([write]);
      return written;
    });
  }

  /**
   * @internal storeResult's answer at once, for runTask inside a synchronous (better-sqlite3)
   * transaction, which has to decide to roll back before it returns; undefined where the
   * dialect's transactions are not synchronous.
   */
  storeResultNow(taskId: string, result: unknown, state: TaskState, options: StoreOptions = {}): boolean | undefined {
    if (!this.tx.taskStoreNow) return undefined;
    const write = this.taskWrite(taskId, result, state, options);
    let written: boolean;
    try {
      written = this.tx.taskStoreNow(write);
    } catch (error) {
      throw error instanceof TaskledgerError ? error : new DatabaseError("storeResult", taskId, 1, { cause: error });
    }
    if (written) this.afterCommit([write]);
    return written;
  }

  private taskWrite(taskId: string, result: unknown, state: TaskState, options: StoreOptions): TaskWrite {
    return {
      ...buildTaskWrite({
        taskId,
        status: state,
        result,
        traceback: options.traceback,
        request: options.request,
        now: options.now ?? new Date(),
        resultExtended: this.options.resultExtended,
        format: this.options.valueFormat,
      }),
      replaceReady: !options.onlyIfUnready,
    };
  }

  /** Many results in as few statements as the dialect allows, in the caller's transaction. */
  storeMany(items: readonly StoreItem[], options: { now?: Date } = {}): Promise<number> {
    const now = options.now ?? new Date();
    const writes = foldWrites(
      items.map((item) =>
        buildTaskWrite({
          ...item,
          now,
          resultExtended: this.options.resultExtended,
          format: this.options.valueFormat,
        }),
      ),
    );
    if (writes.length === 0) return Promise.resolve(0);
    return this.run("storeMany", `${writes.length} tasks`, () => this.tx.taskStoreMany(writes)).then((written) => {
      this.afterCommit(writes);
      return written;
    });
  }

  /** Saves a group's result ids in the caller's transaction (overwriting an earlier save). */
  saveGroup(
    groupId: string,
    members: readonly (string | ResultTuple)[],
    options: { now?: Date; parent?: ResultTuple | null } = {},
  ): Promise<void> {
    const row = groupRow(groupId, members, options.parent ?? null, this.options.valueFormat, options.now ?? new Date());
    return this.run("saveGroup", groupId, () => this.tx.groupSave(row));
  }

  /**
   * Runs one write; errors other than taskledger's own become a DatabaseError, thrown at once
   * when the driver threw at once (SQLite), so a synchronous transaction rolls back.
   */
  private run<T>(operation: string, subject: string, write: () => Promise<T>): Promise<T> {
    const wrap = (error: unknown) =>
      error instanceof TaskledgerError ? error : new DatabaseError(operation, subject, 1, { cause: error });
    let pending: Promise<T>;
    try {
      pending = write();
    } catch (error) {
      throw wrap(error);
    }
    return pending.catch((error: unknown) => {
      throw wrap(error);
    });
  }

  /**
   * Where the database cannot push (SQLite), waits for the caller's transaction to end, then
   * wakes this process's waiters for the rows that are there as written: a rolled-back write
   * wakes nobody.
   */
  private afterCommit(writes: readonly TaskWrite[]): void {
    const ended = this.tx.ended();
    if (!ended) return;
    void ended
      .then(() => this.driver.taskGetMany(writes.map((w) => w.taskId)))
      .then((rows) => {
        const status = new Map(rows.map((row) => [row.taskId, row.status]));
        const committed = writes.filter((w) => status.get(w.taskId) === w.status).map((w) => w.taskId);
        if (committed.length > 0) this.onCommitted(committed);
      })
      .catch(() => undefined); // a closed backend or database: the waiters' own re-reads remain
  }
}
