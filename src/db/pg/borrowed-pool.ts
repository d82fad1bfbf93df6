/**
 * The application's own pg.Pool, used as taskledger's connection: every statement goes
 * through pool.query(), sessions (migration and cleanup locks) through pool.connect(), and
 * nothing is ever ended: the pool belongs to the application. Only the LISTEN connection is
 * taskledger's own, opened from the pool's settings (below).
 */
import type pg from "pg";
import type { PgPoolLike } from "../external.js";

/** A session of its own, for work that needs one (locks); `end()` gives it back. */
export interface PgSession {
  query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  end(): Promise<void>;
  /** The session's connection failed or closed (a cleanup lock held on it is then gone). */
  on(event: "error" | "end", listener: () => void): unknown;
}

/** What the PostgreSQL driver runs on: taskledger's ClientPool or the application's pool. */
export interface PgConnection {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  dedicated(): Promise<PgSession>;
  end(): Promise<void>;
  /**
   * Settings for the one LISTEN connection, or undefined when they cannot be known (waiting then
   * falls back to re-reading at its interval).
   */
  readonly listenConfig: pg.ClientConfig | undefined;
}

/** pg-pool's own options, which a pg.Client does not take. */
const POOL_ONLY = [
  "max",
  "min",
  "idleTimeoutMillis",
  "maxUses",
  "maxLifetimeSeconds",
  "allowExitOnIdle",
  "log",
  "Promise",
  "Client",
  "verify",
];

export class BorrowedPool implements PgConnection {
  readonly listenConfig: pg.ClientConfig | undefined;

  constructor(
    private readonly pool: PgPoolLike,
    /** Type parsers for taskledger's own statements; the pool's settings stay the application's. */
    private readonly types: pg.CustomTypesConfig,
  ) {
    // LISTEN holds its connection for good, so it is not taken from the application's pool
    // (where it would be one connection fewer for the application and never idle-closed); it is
    // a separate client with the pool's own connection settings (host, user, password, ssl…).
    const options = pool.options as Record<string, unknown> | undefined;
    this.listenConfig = options
      ? (Object.fromEntries(Object.entries(options).filter(([key]) => !POOL_ONLY.includes(key))) as pg.ClientConfig)
      : undefined;
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return this.pool.query({ ...config, types: this.types });
  }

  async dedicated(): Promise<PgSession> {
    const client = (await this.pool.connect()) as pg.PoolClient;
    let released = false;
    return {
      query: (text, values) => client.query(text, values),
      on: (event, listener) => client.on(event, listener),
      // Destroyed rather than returned: a session-level advisory lock must not outlive it in the
      // pool, also when its unlock failed.
      end: async () => {
        if (released) return;
        released = true;
        client.release(true);
      },
    };
  }

  async end(): Promise<void> {
    // The application's pool: it ends it, after backend.close().
  }
}
