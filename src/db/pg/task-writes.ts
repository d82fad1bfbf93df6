/**
 * The PostgreSQL writes (task store, batch store, forget, group save) over any query function: the
 * driver runs them on its pool, a transaction writer on the caller's client inside the
 * caller's transaction. Same statements either way, so triggers and the precedence guard apply
 * identically; their NOTIFY is delivered by PostgreSQL at commit, and not at all on rollback.
 */
import { isReady } from "../../states.js";
import type { GroupRow, TaskWrite } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import { taskColumnValues } from "../rows.js";
import type { PgExecutor, RunQuery } from "./executor.js";
import { CITUS_BATCH_ROWS, citusStoreManyStatement } from "./statements.js";

/** How many ids a process remembers having stored unready on Citus (see PgWrites.taskStoreCitus). */
const RECENT_IDS = 10_000;

/** A NOTIFY payload stays under PostgreSQL's 8,000 bytes: ids are at most 155 characters. */
const NOTIFY_IDS = 40;

/** How often a store whose hot row changed under it runs again (see taskStore). */
const STORE_RACE_ATTEMPTS = 5;

export class PgWrites {
  private readonly sql: PgExecutor["sql"];
  private readonly names: PgExecutor["names"];

  constructor(
    private readonly exec: PgExecutor,
    /**
     * Called when a statement made for a database without an archive found one (created since
     * this process last looked): the driver then knows, and the write runs again across tiers.
     */
    private readonly archiveAppeared: () => Promise<void>,
  ) {
    this.sql = exec.sql;
    this.names = exec.names;
  }

  /**
   * `tiers`: the archive exists, so the precedence guard must look there too. `citus`: the tables
   * are distributed (pg/distribute.ts), so the Citus statement forms are taken.
   */
  async taskStore(run: RunQuery, w: TaskWrite, tiers: boolean, citus = false): Promise<boolean> {
    if (citus) return this.taskStoreCitus(run, w, tiers);
    const values = [...taskColumnValues(w), w.extended !== null, w.replaceReady];
    if (tiers) {
      // One row: how many it wrote, and whether the hot row its snapshot saw (and whose status let
      // the write through) changed or left meanwhile: moved into the archive, or written by
      // another. Then it runs again on a new snapshot, which sees where the row went; each run
      // sees a later state, so a few suffice.
      for (let attempt = 1; ; attempt++) {
        const result = await run<{ written: string; raced: boolean }>({
          name: this.names.taskStoreTiers,
          text: this.sql.taskStoreTiers,
          values,
        });
        const { written, raced } = result.rows[0]!;
        if (!raced || attempt >= STORE_RACE_ATTEMPTS) return Number(written) > 0;
      }
    }
    const result = await run<{ written: string; archived: boolean }>({ name: this.names.taskStore, text: this.sql.taskStore, values });
    const { written, archived } = result.rows[0]!;
    if (Number(written) === 0 && archived) {
      await this.archiveAppeared();
      return this.taskStore(run, w, true);
    }
    return Number(written) > 0;
  }

  /** `parallel`: `run` is the pool, so two statements may run at once (never on a caller's client). */
  async taskStoreMany(run: RunQuery, writes: readonly TaskWrite[], tiers: boolean, citus = false, parallel = false): Promise<number> {
    if (citus) return this.taskStoreManyCitus(run, writes, parallel);
    let written = 0;
    // extended and replaceReady are per statement, and a batch with no request metadata at all
    // takes the lean statement, so a mixed batch becomes one statement per kind.
    const isLean = (w: TaskWrite) => w.extended === null && w.children === null && w.parentId === null && w.groupId === null;
    for (const batch of groupBy(writes, (w) => `${w.extended !== null}:${w.replaceReady}:${isLean(w)}`)) {
      const first = batch[0]!;
      const lean = !tiers && isLean(first);
      const values = lean ? leanValues : taskColumnValues;
      const columns: unknown[][] = Array.from({ length: lean ? 6 : 15 }, () => []);
      for (const w of batch) values(w).forEach((value, i) => columns[i]!.push(value));
      const result = await run<{ written: number; archived?: boolean; raced?: string[] }>(
        lean
          ? { name: this.names.taskStoreManyLean, text: this.sql.taskStoreManyLean, values: [...columns, first.replaceReady] }
          : {
              name: this.names[tiers ? "taskStoreManyTiers" : "taskStoreMany"],
              text: this.sql[tiers ? "taskStoreManyTiers" : "taskStoreMany"],
              values: [...columns, first.extended !== null, first.replaceReady],
            },
      );
      const row = result.rows[0]!;
      if (row.archived && row.written === 0) {
        await this.archiveAppeared();
        written += await this.taskStoreMany(run, batch, true);
        continue;
      }
      written += row.written;
      if (row.raced && row.raced.length > 0)
        await run({ name: this.names.taskStoreManySettle, text: this.sql.taskStoreManySettle, values: [row.raced] });
    }
    return written;
  }

  /**
   * One row on Citus: two router statements at most (one shard, one-phase commit), then the
   * NOTIFY on the coordinator when someone waits for this id: on Citus the notify trigger would
   * run on the worker, where the coordinator's LISTEN never hears it.
   */
  private async taskStoreCitus(run: RunQuery, w: TaskWrite, tiers: boolean): Promise<boolean> {
    const values = [...taskColumnValues(w), w.extended !== null, w.replaceReady];
    // One router statement where the row is most likely new: the insert first, its ON CONFLICT
    // under the guard for a row that exists after all. That draws an id from the sequence even then
    // (Citus evaluates nextval() on the coordinator before routing), so a write to a row this
    // process stored before (the usual STARTED, then SUCCESS) takes the update first instead.
    // An unready state wakes nobody; a ready one's insert says whether someone waits.
    if (!tiers && !this.recent.has(w.taskId)) {
      if (!isReady(w.status)) {
        const written =
          ((await run({ name: this.names.taskStoreCitusInsert, text: this.sql.taskStoreCitusInsert, values })).rowCount ?? 0) > 0;
        if (written) this.remember(w.taskId);
        return written;
      }
      const result = await run<{ interested: boolean }>({
        name: this.names.taskStoreCitusInsertReady,
        text: this.sql.taskStoreCitusInsertReady,
        values,
      });
      if (result.rows[0]?.interested) await this.notify(run, [w.taskId]);
      return result.rows.length > 0;
    }
    const key = tiers ? "taskStoreCitusTiers" : "taskStoreCitus";
    const probe = await run<{ updated: number; hot: boolean; interested: boolean; archived: boolean }>({
      name: this.names[key],
      text: this.sql[key],
      values,
    });
    const { updated, hot, interested, archived } = probe.rows[0]!;
    let written = updated > 0;
    // A hot row the guard kept: the write is refused, as the upsert's ON CONFLICT would refuse it.
    if (!written && !hot) {
      if (archived && !tiers) {
        await this.archiveAppeared();
        return this.taskStoreCitus(run, w, true);
      }
      if (archived) written = await this.taskStore(run, w, true);
      else
        written = ((await run({ name: this.names.taskStoreCitusInsert, text: this.sql.taskStoreCitusInsert, values })).rowCount ?? 0) > 0;
    }
    if (written && interested && isReady(w.status)) await this.notify(run, [w.taskId]);
    if (isReady(w.status)) this.recent.delete(w.taskId);
    return written;
  }

  /** Ids this process stored unready lately (Citus): their next write takes the update first. */
  private readonly recent = new Set<string>();

  private remember(taskId: string): void {
    this.recent.add(taskId);
    // Oldest first: a Set iterates in insertion order.
    if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value!);
  }

  /**
   * Many rows on Citus: multi-row INSERTs that Citus splits by shard; then a NOTIFY for the ready
   * ids someone waits for. On the pool (`parallel`), the interest lookup (a query of every shard,
   * about 25 ms for 1,000 ids here) runs beside the insert instead of after it: it may name an id
   * whose write the guard refused, and a waiter woken for nothing reads again and waits on.
   * No archive here: on Citus it is refused (pg/distribute.ts archiveRefused).
   */
  private async taskStoreManyCitus(run: RunQuery, writes: readonly TaskWrite[], parallel: boolean): Promise<number> {
    const readyIds = writes.filter((w) => isReady(w.status)).map((w) => w.taskId);
    const interest = async () =>
      readyIds.length === 0
        ? []
        : (await run<{ task_id: string }>({ name: this.names.taskInterest, text: this.sql.taskInterest, values: [readyIds] })).rows;
    const early = parallel ? interest() : undefined;
    early?.catch(() => undefined);
    let written = 0;
    const ready = new Set<string>();
    for (const batch of groupBy(writes, (w) => `${w.extended !== null}:${w.replaceReady}`)) {
      const sorted = [...batch].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
      for (let at = 0; at < sorted.length; at += CITUS_BATCH_ROWS) {
        const chunk = sorted.slice(at, at + CITUS_BATCH_ROWS);
        const values = chunk.flatMap((w) => taskColumnValues(w));
        values.push(chunk[0]!.extended !== null, chunk[0]!.replaceReady);
        const result = await run<{ task_id: string; status: string }>({
          text: citusStoreManyStatement(this.exec.tables, chunk.length),
          values,
        });
        written += result.rowCount ?? 0;
        for (const row of result.rows) if (isReady(row.status)) ready.add(row.task_id);
      }
    }
    if (ready.size > 0) {
      const waited = (await (early ?? interest())).map((r) => r.task_id).filter((id) => ready.has(id));
      if (waited.length > 0) await this.notify(run, waited);
    }
    return written;
  }

  private async notify(run: RunQuery, taskIds: readonly string[]): Promise<void> {
    for (let at = 0; at < taskIds.length; at += NOTIFY_IDS)
      await run({
        name: this.names.notify,
        text: this.sql.notify,
        values: [this.exec.tables.channel, JSON.stringify(taskIds.slice(at, at + NOTIFY_IDS))],
      });
  }

  /** Forgets tasks (and their history) in both tiers when `tiers`. */
  async taskForget(taskIds: readonly string[], tiers: boolean): Promise<number> {
    if (taskIds.length === 0) return 0;
    if (tiers) return (await this.exec.statement<{ n: number }>("taskForgetTiers", [taskIds])).rows[0]!.n;
    return (await this.exec.statement("taskForget", [taskIds])).rowCount ?? 0;
  }

  async groupSave(run: RunQuery, row: GroupRow): Promise<void> {
    await run({
      name: this.names.groupSave,
      text: this.sql.groupSave,
      values: [row.groupId, row.result, row.dateDone && toNaiveUtc(row.dateDone)],
    });
  }
}

/** taskStoreManyLean's columns: task_id, status, result, date_done, traceback, date_updated. */
function leanValues(w: TaskWrite): unknown[] {
  return [w.taskId, w.status, w.result, w.dateDone && toNaiveUtc(w.dateDone), w.traceback, toNaiveUtc(w.dateUpdated)];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}
