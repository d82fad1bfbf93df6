/**
 * One LISTEN connection per backend, shared by every waiter in the process. The notify trigger
 * (migrations/pg/0002_history.sql) sends the task id when any writer commits a ready state for
 * an id registered in the interest table, so a waiter wakes about a millisecond after the
 * commit instead of on its next poll. This connection also registers the process's ids there.
 * A dropped connection is re-opened with backoff; on reconnect the ids are registered again and
 * every waiter is told to re-read, since notifications sent meanwhile are lost.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { quoteIdentifier } from "../tables.js";

const RECONNECT_MIN_MS = 50;
// Capped at 1 s: after a server restart the listener is back within a second of the server.
const RECONNECT_MAX_MS = 1_000;
/** How often a live listener re-stamps its interest rows, and sweeps rows nobody re-stamped. */
const INTEREST_REFRESH_MS = 60_000;
/** Interest rows older than this belong to a crashed waiter and are deleted by any listener. */
const INTEREST_TTL_SECONDS = 600;

export class PgListener implements ChangeWatch {
  readonly ready: Promise<void>;
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Names this process's rows in the interest table. */
  private readonly listenerId = randomUUID();
  /** Ids this process waits for (registered, or about to be). */
  private readonly interested = new Set<string>();
  private readonly toAdd = new Set<string>();
  private readonly toRemove = new Set<string>();
  /** The flush that will take ids added now, while it has not started yet. */
  private nextFlush: Promise<void> | undefined;
  private flushChain: Promise<void> = Promise.resolve();
  private readonly refreshTimer: NodeJS.Timeout;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    /** The interest table, quoted and qualified. */
    private readonly interestTable: string,
    private readonly onChange: ChangeListener,
  ) {
    // The first connection must succeed for `ready`; later drops reconnect in the background.
    this.ready = this.connect();
    this.ready.catch(() => this.scheduleReconnect());
    this.refreshTimer = setInterval(() => void this.refresh(), INTEREST_REFRESH_MS);
    this.refreshTimer.unref();
  }

  /**
   * Registers ids in the interest table, batched: every call in one tick shares one statement.
   * Resolves when the batch holding these ids is committed; a failure is swallowed, since the
   * waiter's bounded re-read still finds the result (and a reconnect registers the ids again).
   */
  watch(taskIds: readonly string[]): Promise<void> {
    let added = false;
    for (const id of taskIds) {
      if (this.interested.has(id)) continue;
      this.interested.add(id);
      this.toRemove.delete(id);
      this.toAdd.add(id);
      added = true;
    }
    // Ids another waiter registered may still be in flight: wait for that batch too.
    return added ? this.scheduleFlush() : (this.nextFlush ?? this.flushChain);
  }

  unwatch(taskIds: readonly string[]): void {
    let removed = false;
    for (const id of taskIds) {
      if (!this.interested.delete(id)) continue;
      if (!this.toAdd.delete(id)) this.toRemove.add(id);
      removed = true;
    }
    if (removed) void this.scheduleFlush();
  }

  private scheduleFlush(): Promise<void> {
    this.nextFlush ??= this.flushChain = this.flushChain
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.flush());
    return this.nextFlush;
  }

  private async flush(): Promise<void> {
    this.nextFlush = undefined;
    const add = [...this.toAdd];
    const remove = [...this.toRemove];
    this.toAdd.clear();
    this.toRemove.clear();
    if (add.length === 0 && remove.length === 0) return;
    await this.ready.catch(() => undefined);
    const client = this.client;
    if (!client) return; // not connected: connect() registers every interested id
    await client
      .query(
        `WITH gone AS (DELETE FROM ${this.interestTable} WHERE listener = $1 AND task_id = ANY($2::varchar[]))
       INSERT INTO ${this.interestTable} (task_id, listener) SELECT unnest($3::varchar[]), $1
       ON CONFLICT (task_id, listener) DO UPDATE SET since = EXCLUDED.since`,
        [this.listenerId, remove, add],
      )
      .catch(() => undefined);
  }

  /** Re-stamps this listener's rows and deletes rows of listeners that stopped re-stamping (crashed). */
  private async refresh(): Promise<void> {
    const client = this.client;
    if (!client) return;
    await client
      .query(
        `WITH mine AS (UPDATE ${this.interestTable} SET since = timezone('UTC', now()) WHERE listener = $1)
       DELETE FROM ${this.interestTable} WHERE since < timezone('UTC', now()) - make_interval(secs => $2)`,
        [this.listenerId, INTEREST_TTL_SECONDS],
      )
      .catch(() => undefined);
  }

  pause(): void {
    // Listening costs nothing while idle; the connection is kept to avoid a reconnect per wait.
  }

  resume(): void {}

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.refreshTimer);
    await this.flushChain;
    const client = this.client;
    this.client = undefined;
    await client?.query(`DELETE FROM ${this.interestTable} WHERE listener = $1`, [this.listenerId]).catch(() => undefined);
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.config, application_name: "taskledger-listen", keepAlive: true });
    client.on("notification", (message) => this.onChange(parsePayload(message.payload)));
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", lost);
    await client.connect();
    await client.query(`LISTEN ${quoteIdentifier(this.channel, "channel")}`);
    // After a reconnect (or a server crash, which empties the UNLOGGED table) register again.
    if (this.interested.size > 0) {
      await client.query(
        `INSERT INTO ${this.interestTable} (task_id, listener) SELECT unnest($2::varchar[]), $1 ON CONFLICT (task_id, listener) DO NOTHING`,
        [this.listenerId, [...this.interested]],
      );
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.reconnectDelayMs = RECONNECT_MIN_MS;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().then(
        () => this.onChange(null),
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.reconnectTimer.unref();
  }
}

/** A NOTIFY payload is a JSON array of task ids; anything else wakes every waiter to re-read. */
function parsePayload(payload: string | undefined): string[] | null {
  try {
    const ids: unknown = JSON.parse(payload ?? "");
    return Array.isArray(ids) && ids.every((id) => typeof id === "string") ? ids : null;
  } catch {
    return null;
  }
}
