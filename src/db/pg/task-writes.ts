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
import { precedenceAllows } from "../precedence.js";
import { CARRIED, CITUS_BATCH_ROWS, citusStoreManyStatement } from "./statements.js";

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
  async taskStore(run: RunQuery, w: TaskWrite, tiers: boolean, citus = false, pool = false): Promise<boolean> {
    if (citus) return this.taskStoreCitus(run, w, tiers, pool);
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
    if (citus) return this.taskStoreManyCitus(run, writes, parallel, tiers);
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
   * One row on Citus: router statements (one shard, one-phase commit), then the NOTIFY on the
   * coordinator when someone waits for this id: on Citus the notify trigger would run on the
   * worker, where the coordinator's LISTEN never hears it. `pool`: `run` is the pool, so work that
   * needs a transaction of its own takes a session.
   */
  private async taskStoreCitus(run: RunQuery, w: TaskWrite, tiers: boolean, pool: boolean): Promise<boolean> {
    const values = [...taskColumnValues(w), w.extended !== null, w.replaceReady];
    // One router statement where the row is most likely new: the insert first, its ON CONFLICT
    // under the guard for a row that exists after all. That draws an id from the sequence even then
    // (Citus evaluates nextval() on the coordinator before routing), so a write to a row this
    // process stored before (the usual STARTED, then SUCCESS) takes the update first instead.
    // An unready state wakes nobody; a ready one's insert says whether someone waits. Not with the
    // archive: an id without a hot row may have an archived one that must judge the write.
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
    let written: boolean;
    let interested: boolean;
    for (let attempt = 1; ; attempt++) {
      const probe = await run<{ updated: number; hot: boolean; hot_status: string | null; interested: boolean; archived: boolean }>({
        name: this.names[key],
        text: this.sql[key],
        values,
      });
      const row = probe.rows[0]!;
      interested = row.interested;
      written = row.updated > 0;
      if (written) break;
      if (row.hot) {
        // The guard refused the row this snapshot saw, or that row changed or left (a move took it)
        // while the update waited for its lock: then again, on a new snapshot that sees where it went.
        if (!precedenceAllows(row.hot_status, w.status, w.replaceReady) || attempt >= STORE_RACE_ATTEMPTS) break;
        continue;
      }
      if (row.archived && !tiers) {
        await this.archiveAppeared();
        return this.taskStoreCitus(run, w, true, pool);
      }
      written = row.archived
        ? await this.transaction(run, pool, (tx) => this.supersedingStore(tx, w, values))
        : ((await run({ name: this.names.taskStoreCitusInsert, text: this.sql.taskStoreCitusInsert, values })).rowCount ?? 0) > 0;
      break;
    }
    if (written && interested && isReady(w.status)) await this.notify(run, [w.taskId]);
    if (isReady(w.status)) this.recent.delete(w.taskId);
    return written;
  }

  /**
   * A write for an id whose rows are all archived, on Citus: the latest archived row judges it
   * (read on the coordinator, judged in memory by the SQL guard's twin), the new hot row takes
   * what the write leaves out from it, and the archived rows go (supersede), in one transaction.
   * The plain statement does this in one statement, through functions Citus would run on workers.
   */
  private async supersedingStore(tx: RunQuery, w: TaskWrite, values: unknown[]): Promise<boolean> {
    const archived = (await tx<Record<string, unknown>>({ text: this.sql.taskArchivedCitus, values: [w.taskId] })).rows[0];
    if (archived && !precedenceAllows(archived["status"] as string, w.status, w.replaceReady)) return false;
    const merged = [...values];
    if (archived) {
      // taskColumnValues order: name … queue at 5–10 (written with request metadata only),
      // children, parent_id, group_id at 11–13 (kept unless written).
      const extended = ["name", "args", "kwargs", "worker", "retries", "queue"];
      if (w.extended === null) extended.forEach((column, i) => (merged[5 + i] = archived[column]));
      ["children", "parent_id", "group_id"].forEach((column, i) => (merged[11 + i] ??= archived[column]));
    }
    const inserted = ((await tx({ text: this.sql.taskStoreCitusInsert, values: merged })).rowCount ?? 0) > 0;
    if (inserted) await this.supersede(tx, w.taskId);
    return inserted;
  }

  /** The archived rows of one id go, once a new hot row replaces them (Citus; see taskSupersedeRowsCitus). */
  private async supersede(tx: RunQuery, taskId: string): Promise<void> {
    for (let round = 0; round < STORE_RACE_ATTEMPTS; round++) {
      await tx({ text: this.sql.taskSupersedeRowsCitus, values: [taskId] });
      if (!(await tx<{ left: boolean }>({ text: this.sql.taskSupersedeLeftCitus, values: [taskId] })).rows[0]!.left) break;
    }
    await tx({ text: this.sql.taskSupersedeHistoryCitus, values: [taskId] });
    await tx({ text: this.sql.taskSupersedeHistoryGoneCitus, values: [taskId] });
    await tx({ text: this.sql.taskSupersedeIdsCitus, values: [taskId] });
  }

  /** Runs `body` in a transaction: a session of its own on the pool, else the caller's. */
  private async transaction<T>(run: RunQuery, pool: boolean, body: (tx: RunQuery) => Promise<T>): Promise<T> {
    if (!pool) return body(run);
    const session = await this.exec.dedicated();
    const tx = (async (config: { text: string; values?: unknown[] }) => session.query(config.text, config.values)) as RunQuery;
    try {
      await session.query("BEGIN");
      const result = await body(tx);
      await session.query("COMMIT");
      return result;
    } catch (error) {
      await session.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      await session.end().catch(() => undefined);
    }
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
   * With the archive, in one transaction: ids with archived rows are stored one by one, judged by
   * those rows; a row the batch inserted anew where a concurrent move had just taken the hot row
   * is judged by the archived row after all, and taken back or completed.
   */
  private async taskStoreManyCitus(run: RunQuery, writes: readonly TaskWrite[], parallel: boolean, tiers: boolean): Promise<number> {
    if (tiers) return this.transaction(run, parallel, (tx) => this.taskStoreManyCitusTiers(tx, writes));
    const readyIds = writes.filter((w) => isReady(w.status)).map((w) => w.taskId);
    const interest = async () =>
      readyIds.length === 0
        ? []
        : (await run<{ task_id: string }>({ name: this.names.taskInterest, text: this.sql.taskInterest, values: [readyIds] })).rows;
    const early = parallel ? interest() : undefined;
    early?.catch(() => undefined);
    const { written, ready } = await this.insertMany(run, writes);
    if (ready.size > 0) {
      const waited = (await (early ?? interest())).map((r) => r.task_id).filter((id) => ready.has(id));
      if (waited.length > 0) await this.notify(run, waited);
    }
    return written;
  }

  private async taskStoreManyCitusTiers(tx: RunQuery, writes: readonly TaskWrite[]): Promise<number> {
    const ids = writes.map((w) => w.taskId);
    const archivedIds = new Set(
      (await tx<{ task_id: string }>({ text: this.sql.taskArchivedIdsCitus, values: [ids] })).rows.map((r) => r.task_id),
    );
    let written = 0;
    for (const w of writes) if (archivedIds.has(w.taskId) && (await this.taskStoreCitus(tx, w, true, false))) written++;
    const rest = writes.filter((w) => !archivedIds.has(w.taskId));
    const inserted = await this.insertMany(tx, rest);
    written += inserted.written;
    const fresh = [...inserted.fresh.keys()];
    const moved =
      fresh.length === 0
        ? []
        : (await tx<{ task_id: string }>({ text: this.sql.taskArchivedIdsCitus, values: [fresh] })).rows.map((r) => r.task_id);
    const byId = new Map(rest.map((w) => [w.taskId, w]));
    for (const id of moved) {
      const w = byId.get(id)!;
      const archived = (await tx<Record<string, unknown>>({ text: this.sql.taskArchivedCitus, values: [id] })).rows[0];
      if (archived && !precedenceAllows(archived["status"] as string, w.status, w.replaceReady)) {
        await tx({ text: this.sql.taskUndoCitus, values: [id, inserted.fresh.get(id)] });
        written--;
        continue;
      }
      if (archived) await tx({ text: this.sql.taskCarryCitus, values: [id, ...CARRIED.map((column) => archived[column])] });
      await this.supersede(tx, id);
    }
    const ready = writes.filter((w) => isReady(w.status)).map((w) => w.taskId);
    if (ready.length > 0) {
      const waited = (await tx<{ task_id: string }>({ name: this.names.taskInterest, text: this.sql.taskInterest, values: [ready] })).rows;
      if (waited.length > 0)
        await this.notify(
          tx,
          waited.map((r) => r.task_id),
        );
    }
    return written;
  }

  /** The multi-row inserts of a Citus batch: rows written, the ready ids among them, and the ids inserted anew with their row ids. */
  private async insertMany(
    run: RunQuery,
    writes: readonly TaskWrite[],
  ): Promise<{ written: number; ready: Set<string>; fresh: Map<string, number> }> {
    let written = 0;
    const ready = new Set<string>();
    const fresh = new Map<string, number>();
    for (const batch of groupBy(writes, (w) => `${w.extended !== null}:${w.replaceReady}`)) {
      const sorted = [...batch].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
      for (let at = 0; at < sorted.length; at += CITUS_BATCH_ROWS) {
        const chunk = sorted.slice(at, at + CITUS_BATCH_ROWS);
        const values = chunk.flatMap((w) => taskColumnValues(w));
        values.push(chunk[0]!.extended !== null, chunk[0]!.replaceReady);
        const result = await run<{ task_id: string; status: string; id: number; fresh: boolean }>({
          text: citusStoreManyStatement(this.exec.tables, chunk.length),
          values,
        });
        written += result.rowCount ?? 0;
        for (const row of result.rows) {
          if (isReady(row.status)) ready.add(row.task_id);
          if (row.fresh) fresh.set(row.task_id, row.id);
        }
      }
    }
    return { written, ready, fresh };
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
