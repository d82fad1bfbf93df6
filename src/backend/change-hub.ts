/**
 * Wakes waiters when the tasks they wait on change. One hub per backend multiplexes every waiter
 * in the process onto one change watch (one LISTEN connection on PostgreSQL), so thousands of
 * concurrent get() calls hold no connection each. Sources: this process's own stores (at once),
 * and other processes' commits (pushed per id on PostgreSQL, a data_version check on SQLite).
 *
 * A waiter subscribes before it reads, so a change that lands between its read and its wait is
 * not missed; and every wait is bounded by the caller's interval, so a lost notification only
 * delays a result until the next re-read.
 */
import type { ChangeWatch, Driver } from "../db/driver.js";
import { BackendClosedError } from "../errors.js";

export interface Subscription {
  /** Resolves true when a watched id (or anything) changed since the last wait, false after `ms`. */
  wait(ms: number): Promise<boolean>;
  /** Replaces the watched ids (a set's waiters narrow down as members finish). */
  watch(taskIds: Iterable<string>): void;
  close(): void;
}

class Waiter implements Subscription {
  woken = false;
  private wake: (() => void) | undefined;
  ids: string[] = [];

  constructor(private readonly hub: ChangeHub) {}

  signal(): void {
    this.woken = true;
    this.wake?.();
  }

  wait(ms: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve(true);
      };
    });
  }

  watch(taskIds: Iterable<string>): void {
    this.hub.rewatch(this, [...taskIds]);
  }

  close(): void {
    this.hub.remove(this);
    this.wake?.(); // a wait still pending ends now rather than holding its timer
  }
}

export class ChangeHub {
  private readonly byId = new Map<string, Set<Waiter>>();
  private readonly all = new Set<Waiter>();
  private watchHandle: ChangeWatch | undefined;
  private closed = false;

  constructor(private readonly driver: Driver) {}

  /** Starts watching `taskIds`; read the tasks after this resolves, then wait(). */
  async subscribe(taskIds: Iterable<string>): Promise<Subscription> {
    // After close, starting a watch would touch a closed SQLite handle (an untyped TypeError) or
    // open a new LISTEN connection nobody closes on PostgreSQL (#9).
    if (this.closed) throw new BackendClosedError("wait");
    const waiter = new Waiter(this);
    this.all.add(waiter);
    this.rewatch(waiter, [...taskIds]);
    if (this.all.size === 1) this.ensureWatch().resume();
    await this.ensureWatch().ready.catch(() => undefined); // unreachable listener: fall back to re-reads
    return waiter;
  }

  /** Wakes the waiters of these ids, or every waiter for null. */
  notify(taskIds: readonly string[] | null): void {
    if (taskIds === null) {
      for (const waiter of this.all) waiter.signal();
      return;
    }
    for (const id of taskIds) {
      const waiters = this.byId.get(id);
      if (waiters) for (const waiter of waiters) waiter.signal();
    }
  }

  /** Number of live subscriptions (for tests and leak checks). */
  get size(): number {
    return this.all.size;
  }

  rewatch(waiter: Waiter, ids: string[]): void {
    this.unindex(waiter);
    waiter.ids = ids;
    for (const id of ids) {
      let waiters = this.byId.get(id);
      if (!waiters) this.byId.set(id, (waiters = new Set()));
      waiters.add(waiter);
    }
  }

  remove(waiter: Waiter): void {
    if (!this.all.delete(waiter)) return;
    this.unindex(waiter);
    if (this.all.size === 0) this.watchHandle?.pause();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.all) waiter.signal();
    this.all.clear();
    this.byId.clear();
    await this.watchHandle?.close();
    this.watchHandle = undefined;
  }

  private unindex(waiter: Waiter): void {
    for (const id of waiter.ids) {
      const waiters = this.byId.get(id);
      waiters?.delete(waiter);
      if (waiters?.size === 0) this.byId.delete(id);
    }
  }

  private ensureWatch(): ChangeWatch {
    this.watchHandle ??= this.driver.watchChanges((ids) => this.notify(ids));
    return this.watchHandle;
  }
}
