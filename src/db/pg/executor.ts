/**
 * The one way a PostgreSQL statement runs. Every statement of the driver goes through here, on
 * the pool or on a session of its own, so the dialect's rules are applied once: errors are
 * interpreted (a missing table is MissingTablesError whichever method met it), timestamps without
 * time zone come back as text for naive-utc.ts, and named statements carry a hash of their text.
 */
import { createHash } from "node:crypto";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import type { AuditRow } from "../audit-reads.js";
import type { Tables } from "../tables.js";
import type { PgConnection, PgSession } from "./borrowed-pool.js";
import { interpretError } from "./errors.js";
import type { PgStatements } from "./statements.js";

const TIMESTAMP_OID = 1114;

// Timestamps without time zone come back as text and are read as UTC in naive-utc.ts; the
// default parser would read them in the process's local zone.
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID ? (value: string) => value : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export type RunQuery = <R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig) => Promise<pg.QueryResult<R>>;

/**
 * Prepared-statement names carry a hash of the statements: on an application's pool two
 * backends with different table names may share a connection, and node-postgres refuses one
 * name for two texts.
 */
export function statementNames(statements: PgStatements): Record<keyof PgStatements, string> {
  const suffix = createHash("sha256").update(JSON.stringify(statements)).digest("hex").slice(0, 10);
  return Object.fromEntries(Object.keys(statements).map((key) => [key, `tl_${key}_${suffix}`])) as Record<keyof PgStatements, string>;
}

export class PgExecutor implements PgConnection {
  readonly names: Record<keyof PgStatements, string>;
  private readonly drizzle = new PgDialect();

  constructor(
    private readonly pool: PgConnection,
    readonly tables: Tables,
    readonly sql: PgStatements,
  ) {
    this.names = statementNames(sql);
  }

  get listenConfig(): pg.ClientConfig | undefined {
    return this.pool.listenConfig;
  }

  /** The driver's own statements, on the pool. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(config).catch((error: unknown) => this.fail(error));
  }

  /** One of ./statements.ts by name, prepared once per connection. */
  statement<R extends pg.QueryResultRow = pg.QueryResultRow>(key: keyof PgStatements, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.query<R>({ name: this.names[key], text: this.sql[key], values });
  }

  /** A cold-path query built with drizzle's `sql` (audit reads, rule deletes, dry-run counts). */
  async rows(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzle.sqlToQuery(query);
    return (await this.query({ text, values: params })).rows;
  }

  /** A drizzle-built statement's affected rows. */
  async affected(query: SQL): Promise<number> {
    const { sql: text, params } = this.drizzle.sqlToQuery(query);
    return (await this.query({ text, values: params })).rowCount ?? 0;
  }

  async count(key: keyof PgStatements, values: unknown[]): Promise<number> {
    return Number((await this.statement<{ n: number }>(key, values)).rows[0]?.n ?? 0);
  }

  /** A session of its own (locks, DDL in a transaction), whose statements are interpreted too. */
  async dedicated(): Promise<PgSession> {
    const session = await this.pool.dedicated();
    return {
      query: (text, values) => session.query(text, values).catch((error: unknown) => this.fail(error)),
      end: () => session.end(),
      on: (event, listener) => session.on(event, listener),
    };
  }

  /**
   * Statements on a caller's client inside the caller's transaction; `before` runs ahead of each
   * (the transaction writer checks the client is still inside its transaction).
   */
  onClient(
    client: { query(config: pg.QueryConfig & { types: typeof PG_TYPES }): Promise<unknown> },
    before: () => Promise<void>,
  ): RunQuery {
    return async <R extends pg.QueryResultRow>(config: pg.QueryConfig) => {
      await before();
      return (client.query({ ...config, types: PG_TYPES }) as Promise<pg.QueryResult<R>>).catch((error: unknown) => this.fail(error));
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }

  private fail(error: unknown): never {
    throw interpretError(error, this.tables);
  }
}
