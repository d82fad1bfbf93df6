/**
 * A lean pool for single-statement queries: up to `max` connected clients, each query sent to
 * the least busy one, queued behind that client's previous query. Every store and read is one
 * statement, so nothing needs pg.Pool's checkout/release per query, which cost about 10–15% of
 * a single upsert here (BENCHMARKS.md). A client that errors or ends is dropped; the query that
 * met the error fails as transient and the backend's retry runs it on a fresh client.
 * Multi-statement work (migrations, cleanup's advisory lock) uses a dedicated client instead.
 * An idle connection does not keep the process alive (pg.Pool's allowExitOnIdle): a process left
 * with only the cleanup job's unref'd timer exits; a query in flight holds it as before.
 */
import pg from "pg";
import type { PgConnection } from "./borrowed-pool.js";

/** A connection unused this long is closed (pg.Pool's habit too), keeping at least one. */
const IDLE_CLOSE_MS = 30_000;

interface Entry {
  client: pg.Client;
  ready: Promise<void>;
  inFlight: number;
  lastUsed: number;
  /**
   * Settles when the client's last query does. Queries wait on it instead of being handed to a
   * busy pg.Client: pg 8 warns "Calling client.query() when the client is already executing a
   * query" for that, and pg 9 makes it an error. A client runs one query at a time
   * either way, so ordering and throughput are the same.
   */
  tail: Promise<unknown>;
}

export class ClientPool implements PgConnection {
  private readonly clients: Entry[] = [];
  private closed = false;
  private readonly reaper: NodeJS.Timeout;

  /** The LISTEN connection uses the same settings. */
  get listenConfig(): pg.ClientConfig {
    return this.config;
  }

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly max: number,
  ) {
    this.reaper = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS / 3);
    this.reaper.unref();
  }

  /** Connected clients, for tests and leak checks. */
  get size(): number {
    return this.clients.length;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const entry = this.pick();
    if (entry.inFlight++ === 0) refSocket(entry.client, true);
    try {
      await entry.ready;
      const run = entry.tail.then(() => entry.client.query<R>(config));
      entry.tail = run.catch(() => undefined);
      return await run;
    } finally {
      // Never once end() has begun: it holds every socket until the server has closed it, and a
      // query whose reply came just before end() (its finally still to run) would let go of one
      // mid-goodbye. With nothing else pending Node then left `await backend.close()` unsettled
      // and exited with code 13 (the README's wait-for-result example, 12 runs in 50 under load).
      if (--entry.inFlight === 0 && !this.closed) refSocket(entry.client, false);
      entry.lastUsed = Date.now();
    }
  }

  /** A client of its own, connected, for work that needs one session (the caller ends it). */
  async dedicated(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    client.on("error", () => undefined); // surfaced by the query that meets it
    await client.connect();
    return client;
  }

  async end(): Promise<void> {
    this.closed = true;
    clearInterval(this.reaper);
    const all = this.clients.splice(0);
    // Held again while closing, or an idle (unref'd) connection's goodbye would not be awaited.
    await Promise.all(all.map((e) => (refSocket(e.client, true), e.client.end().catch(() => undefined))));
  }

  private closeIdle(): void {
    const cutoff = Date.now() - IDLE_CLOSE_MS;
    for (const entry of [...this.clients]) {
      if (this.clients.length <= 1) break;
      if (entry.inFlight === 0 && entry.lastUsed < cutoff) entry.client.end().catch(() => undefined);
    }
  }

  private pick(): Entry {
    if (this.closed) throw new Error("the pool is closed");
    let best = this.clients[0];
    for (const entry of this.clients) if (entry.inFlight < best!.inFlight) best = entry;
    if (best && (best.inFlight === 0 || this.clients.length >= this.max)) return best;
    return this.open();
  }

  private open(): Entry {
    const client = new pg.Client(this.config);
    const entry: Entry = { client, ready: Promise.resolve(), inFlight: 0, lastUsed: Date.now(), tail: Promise.resolve() };
    const drop = () => {
      const index = this.clients.indexOf(entry);
      if (index >= 0) this.clients.splice(index, 1);
      client.end().catch(() => undefined);
    };
    client.on("error", drop);
    client.on("end", drop);
    entry.ready = client.connect().then(
      () => {
        if (entry.inFlight === 0 && !this.closed) refSocket(client, false);
      },
      (error: unknown) => {
        drop();
        throw error;
      },
    );
    this.clients.push(entry);
    return entry;
  }
}

/** pg.Client's ref()/unref() (node-postgres 8.x; pg.Pool's allowExitOnIdle uses them), absent from @types/pg. */
function refSocket(client: pg.Client, held: boolean): void {
  const socket = client as unknown as { ref?: () => void; unref?: () => void };
  if (held) socket.ref?.();
  else socket.unref?.();
}
