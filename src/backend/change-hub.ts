/**
 * Wakes waiters when the tasks they wait on change. One hub per backend multiplexes every waiter
 * in the process onto one change watch (one LISTEN connection on PostgreSQL), so thousands of
 * concurrent get() calls hold no connection each. Sources: this process's own stores (at once),
 * and other processes' commits (pushed per id on PostgreSQL, a data_version check on SQLite).
 *
 * A waiter subscribes before it reads, so a change that lands between its read and its wait is
 * not missed; and every wait is bounded by the caller's interval, so a lost notification only
 * delays a result until the next re-read.
 *
 * Interest, not broadcast: the first waiter for an id registers it with the change watch
 * (PostgreSQL's interest table), the last one to leave withdraws it, and only registered ids are
 * notified. See subscribe() for the race between registering and a writer's commit.
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
  /** Set once subscribe() has resolved: from then on a writer's commit wakes it. */
  registered = false;
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
      const timer = setTimeout(
        () => {
          this.wake = undefined;
          resolve(false);
        },
        Math.max(0, ms),
      );
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve(true);
      };
    });
  }

  watch(taskIds: Iterable<string>): void {
    void this.hub.rewatch(this, [...taskIds]);
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
    // open a new LISTEN connection nobody closes on PostgreSQL.
    if (this.closed) throw new BackendClosedError("wait");
    const waiter = new Waiter(this);
    this.all.add(waiter);
    const watch = this.ensureWatch();
    const registered = this.rewatch(waiter, [...taskIds]);
    if (this.all.size === 1) watch.resume();
    await watch.ready.catch(() => undefined); // unreachable listener: fall back to re-reads
    // The caller reads only after the registration is committed. A writer whose statement began
    // before that commit did not see the registration and sends no notification, but its commit
    // is then either visible to that read or lands after it: in the second case the waiter wakes
    // on its next re-read (at most one interval late), never later. That is the whole race: no
    // wake-up is lost, one can be delayed by one interval.
    await registered;
    waiter.registered = true;
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

  /**
   * Live subscriptions whose registration is committed, so any later commit wakes them (tests wait
   * for this before writing: counting a subscription still registering let a write race it and
   * delay its wake-up to the next re-read, 20 s in a test with push-only options).
   */
  get size(): number {
    let n = 0;
    for (const waiter of this.all) if (waiter.registered) n++;
    return n;
  }

  /** Replaces a waiter's ids; resolves once ids nobody waited for before are registered. */
  rewatch(waiter: Waiter, ids: string[]): Promise<void> {
    this.unindex(waiter, new Set(ids));
    waiter.ids = ids;
    for (const id of ids) {
      let waiters = this.byId.get(id);
      if (!waiters) this.byId.set(id, (waiters = new Set()));
      waiters.add(waiter);
    }
    return this.watchHandle?.watch(ids) ?? Promise.resolve();
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

  /** Takes a waiter out of the index; ids in `keep` stay registered even when it was their last waiter. */
  private unindex(waiter: Waiter, keep?: ReadonlySet<string>): void {
    const gone: string[] = [];
    for (const id of waiter.ids) {
      const waiters = this.byId.get(id);
      waiters?.delete(waiter);
      if (waiters?.size === 0 && !keep?.has(id)) {
        this.byId.delete(id);
        gone.push(id);
      }
    }
    if (gone.length > 0) this.watchHandle?.unwatch(gone);
  }

  private ensureWatch(): ChangeWatch {
    this.watchHandle ??= this.driver.watchChanges((ids) => this.notify(ids));
    return this.watchHandle;
  }
}
