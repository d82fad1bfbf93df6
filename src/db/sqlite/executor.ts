/**
 * The one way a SQLite statement runs. Every statement of the driver's own goes through run(), so
 * the dialect's rules are applied once: on a shared connection it waits until the application's
 * open transaction has ended (a statement run inside it would commit or roll back with the
 * application's work), and errors are interpreted (a missing table is MissingTablesError whichever
 * method met it). Busy databases are retried above, by the backend's retry budget: SQLITE_BUSY is
 * transient (./errors.ts).
 */
import type Database from "better-sqlite3";
import type { SQL } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { AuditRow } from "../audit-reads.js";
import type { Tables } from "../tables.js";
import { interpretError } from "./errors.js";
import type { buildStatements } from "./statements.js";

/**
 * How long a statement waits for the application's open transaction on a shared connection to
 * end before failing as busy (and being retried by the backend): as long as a lock wait may be.
 */
const OUTSIDE_TRANSACTION_WAIT_MS = 5_000;

export type SqliteStatements = { [K in keyof ReturnType<typeof buildStatements>]: Database.Statement };

export class SqliteExecutor {
  private prepared: SqliteStatements | undefined;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly drizzle = new SQLiteSyncDialect();

  constructor(
    readonly db: Database.Database,
    readonly tables: Tables,
    private readonly texts: ReturnType<typeof buildStatements>,
  ) {}

  /**
   * Runs `work` once the connection is outside any application transaction, with errors
   * interpreted. Not an async function: outside a transaction (nearly always) `work` runs at once,
   * and the await an async function adds cost a single-row store 9% here (bench/seam-cost.ts).
   */
  run<T>(work: () => T): Promise<T> {
    if (this.db.inTransaction) return this.outsideTransaction().then(() => this.now(work));
    try {
      return Promise.resolve(this.now(work));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private now<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw interpretError(error, this.tables);
    }
  }

  /** ./statements.ts, prepared on first use: the tables exist only once migrations have run. */
  get statements(): SqliteStatements {
    return (this.prepared ??= Object.fromEntries(
      Object.entries(this.texts).map(([key, text]) => [key, this.db.prepare(text)]),
    ) as SqliteStatements);
  }

  /** A statement whose text is built at run time (tables' names), prepared once. */
  cached(text: string): Database.Statement {
    let statement = this.cache.get(text);
    if (!statement) this.cache.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /** A drizzle-built statement's changed rows (call inside run()). */
  changes(query: SQL): number {
    const { sql: text, params } = this.drizzle.sqlToQuery(query);
    return this.cached(text).run(...params).changes;
  }

  /** A cold-path query built with drizzle's `sql` (audit reads, rule deletes, dry-run counts). */
  rows(query: SQL): Promise<AuditRow[]> {
    const { sql: text, params } = this.drizzle.sqlToQuery(query);
    // Not cached: audit queries vary with their filters.
    return this.run(() => this.db.prepare(text).all(...params) as AuditRow[]);
  }

  /** `work` in one IMMEDIATE transaction: the write lock is taken at BEGIN, so no upgrade can deadlock (call inside run()). */
  immediate<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  /**
   * On a shared connection the application may hold a transaction open across awaits
   * (BEGIN … await … COMMIT). better-sqlite3's db.transaction() is synchronous and never seen
   * open here.
   */
  async outsideTransaction(): Promise<void> {
    if (!this.db.inTransaction) return;
    const deadline = Date.now() + OUTSIDE_TRANSACTION_WAIT_MS;
    await untilFalse(
      () => this.db.inTransaction && this.db.open,
      () => {
        if (Date.now() > deadline) {
          throw Object.assign(new Error("the shared SQLite connection stayed inside the application's transaction"), {
            code: "SQLITE_BUSY_TRANSACTION",
          });
        }
      },
    );
  }
}

/** Resolves once `holds()` is false, checking with a backoff from 1 to 20 ms; `check` may throw. */
export async function untilFalse(holds: () => boolean, check: () => void = () => undefined): Promise<void> {
  let delay = 1;
  while (holds()) {
    check();
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 20);
  }
}
