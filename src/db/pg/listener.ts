/**
 * One LISTEN connection per backend, shared by every waiter in the process: stores NOTIFY the
 * task id on commit (./statements.ts), so a waiter wakes about a millisecond after the commit
 * instead of on its next poll. A dropped connection is re-opened with backoff, and on reconnect
 * every waiter is told to re-read, since notifications sent meanwhile are lost.
 */
import pg from "pg";
import type { ChangeListener, ChangeWatch } from "../driver.js";
import { quoteIdentifier } from "../tables.js";

const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 5_000;

export class PgListener implements ChangeWatch {
  readonly ready: Promise<void>;
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onChange: ChangeListener,
  ) {
    // The first connection must succeed for `ready`; later drops reconnect in the background.
    this.ready = this.connect();
    this.ready.catch(() => this.scheduleReconnect());
  }

  pause(): void {
    // Listening costs nothing while idle; the connection is kept to avoid a reconnect per wait.
  }

  resume(): void {}

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
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
