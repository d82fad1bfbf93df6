/**
 * Waking on MySQL, which cannot push: the change triggers append a row to `<task table>_changes`
 * for each change of state (and each ready write) of an id in `<task table>_interest`, whoever
 * writes it, so status streams see STARTED and RETRY too (migrations/mysql/0006_webhooks.sql); this
 * poller (one per backend) reads the rows after the last one it saw, a primary-key range, every
 * POLL_MS while someone waits. Only ids a waiter registered cost a row, so commits nobody waits for add one
 * index probe.
 *
 * AUTO_INCREMENT ids are taken at insert and seen at commit, so a later id can appear before an
 * earlier one commits: the poller keeps reading from the first id it has not seen, and gives up on
 * a gap (a rolled-back insert never fills it) after GAP_WAIT_MS. A change missed anyway delays a
 * waiter until its own bounded re-read, never loses a result.
 */
import { randomUUID } from "node:crypto";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { toNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import type { MysqlExecutor } from "./executor.js";
import { listSlices, placeholders } from "./statements.js";

export const POLL_MS = 10;
const GAP_WAIT_MS = 2_000;
/** Change rows older than this are deleted by any poller, now and then. */
const CHANGE_RETENTION_MS = 60_000;
/** Interest rows of waiters that crashed without withdrawing age out after this. */
const INTEREST_RETENTION_MS = 86_400_000;
const PRUNE_EVERY_MS = 10_000;
/** Ids per interest statement. */
const WATCH_SLICE = 1_000;

export class MysqlChangePoller implements ChangeWatch {
  readonly ready: Promise<void>;
  private readonly listener = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  /** Every id up to this one is seen (or given up on). */
  private seenUpTo = 0;
  /** Ids above seenUpTo already seen, and when a gap below them was first noticed. */
  private readonly seenAbove = new Set<number>();
  private gapSince: number | undefined;
  private lastPrune = 0;

  constructor(
    private readonly run: MysqlExecutor,
    private readonly tables: Tables,
    private readonly onChange: ChangeListener,
  ) {
    this.ready = this.start();
    this.ready.catch(() => undefined);
  }

  private async start(): Promise<void> {
    const rows = await this.run.execute<{ top: number | null }>(`SELECT MAX(id) AS top FROM ${this.tables.changes}`);
    this.seenUpTo = Number(rows[0]?.top ?? 0);
  }

  resume(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async watch(taskIds: readonly string[]): Promise<void> {
    const ids = [...new Set(taskIds)];
    if (ids.length === 0 || this.closed) return;
    const at = toNaiveUtc(new Date());
    // In slices: a statement takes at most 65,535 placeholders.
    for (let i = 0; i < ids.length; i += WATCH_SLICE) {
      const slice = ids.slice(i, i + WATCH_SLICE);
      await this.run.write(
        `INSERT INTO ${this.tables.interest} (task_id, listener, since) VALUES ${slice.map(() => "(?, ?, ?)").join(", ")}
          ON DUPLICATE KEY UPDATE since = VALUES(since)`,
        slice.flatMap((id) => [id, this.listener, at]),
      );
    }
  }

  unwatch(taskIds: readonly string[]): void {
    const ids = [...new Set(taskIds)];
    if (ids.length === 0 || this.closed) return;
    for (const slice of listSlices(ids))
      this.run
        .write(`DELETE FROM ${this.tables.interest} WHERE listener = ? AND task_id IN (${placeholders(slice.length)})`, [
          this.listener,
          ...slice,
        ])
        .catch(() => undefined); // left behind, an entry costs a change row per ready write until it ages out
  }

  async close(): Promise<void> {
    this.pause();
    this.closed = true;
    await this.run.write(`DELETE FROM ${this.tables.interest} WHERE listener = ?`, [this.listener]).catch(() => undefined);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      await this.ready;
      const rows = await this.run.execute<{ id: number; task_id: string }>(
        `SELECT id, task_id FROM ${this.tables.changes} WHERE id > ? ORDER BY id LIMIT 1000`,
        [this.seenUpTo],
      );
      const changed: string[] = [];
      for (const row of rows) {
        const id = Number(row.id);
        if (this.seenAbove.has(id)) continue;
        this.seenAbove.add(id);
        changed.push(row.task_id);
      }
      this.advance();
      if (changed.length > 0) this.onChange([...new Set(changed)]);
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) await this.prune();
    } catch {
      // the waiters' own re-read interval still holds; the next tick tries again
    } finally {
      this.polling = false;
    }
  }

  /** Moves seenUpTo over every contiguous seen id, and over a gap that has waited long enough. */
  private advance(): void {
    while (this.seenAbove.has(this.seenUpTo + 1)) this.seenAbove.delete(++this.seenUpTo);
    if (this.seenAbove.size === 0) {
      this.gapSince = undefined;
      return;
    }
    this.gapSince ??= Date.now();
    if (Date.now() - this.gapSince < GAP_WAIT_MS) return;
    this.seenUpTo = Math.min(...this.seenAbove) - 1;
    this.gapSince = undefined;
    this.advance();
  }

  private async prune(): Promise<void> {
    this.lastPrune = Date.now();
    await this.run.write(`DELETE FROM ${this.tables.changes} WHERE at < ? LIMIT 10000`, [
      toNaiveUtc(new Date(Date.now() - CHANGE_RETENTION_MS)),
    ]);
    await this.run.write(`DELETE FROM ${this.tables.interest} WHERE since < ? LIMIT 10000`, [
      toNaiveUtc(new Date(Date.now() - INTEREST_RETENTION_MS)),
    ]);
  }
}
