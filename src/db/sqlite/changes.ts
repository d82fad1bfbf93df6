/**
 * SQLite cannot push, but `PRAGMA data_version` changes whenever another connection (another
 * process) commits, and reading it costs microseconds. While someone waits it is checked every
 * few milliseconds; a change wakes every waiter to re-read. Commits through this process's own
 * connection do not change it: those wake waiters directly (DatabaseBackend's `stored` event).
 */
import type Database from "better-sqlite3";
import type { ChangeListener, ChangeWatch } from "../driver.js";

export const DATA_VERSION_POLL_MS = 5;

export class SqliteChangePoller implements ChangeWatch {
  readonly ready = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly dataVersion: Database.Statement;
  private last: unknown;

  constructor(
    private readonly db: Database.Database,
    private readonly onChange: ChangeListener,
    private readonly intervalMs = DATA_VERSION_POLL_MS,
  ) {
    this.dataVersion = db.prepare("PRAGMA data_version").pluck();
  }

  resume(): void {
    if (this.timer || !this.db.open) return;
    this.last = this.dataVersion.get();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Any commit wakes every waiter here, so there is no interest to register. */
  watch(): Promise<void> {
    return Promise.resolve();
  }

  unwatch(): void {}

  async close(): Promise<void> {
    this.pause();
  }

  private check(): void {
    if (!this.db.open) return this.pause();
    let current: unknown;
    try {
      current = this.dataVersion.get();
    } catch {
      return; // a busy or closing database: the waiters' own re-read interval still holds
    }
    if (current !== this.last) {
      this.last = current;
      this.onChange(null);
    }
  }
}
