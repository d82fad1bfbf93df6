/**
 * The one place every MySQL statement goes through: on taskledger's pool, the application's pool,
 * or a connection inside the application's transaction. It applies the dialect's rules once: times
 * come back as naive text whatever the pool says (dateStrings per statement), errors are
 * interpreted (./errors.ts), the server's settings are checked before the first statement (strict
 * SQL mode), and a statement larger than max_allowed_packet is refused before it is sent.
 */
import type { SQL } from "drizzle-orm";
import { MySqlDialect } from "drizzle-orm/mysql-core";
import { ServerSettingsError, ValueTooLargeError } from "../../errors.js";
import type { MysqlConnectionLike, MysqlPoolLike } from "../external.js";
import { interpretError } from "./errors.js";

/** What a write statement reports. */
export interface WriteResult {
  affectedRows: number;
  insertId: number;
  info: string;
}

export type Row = Record<string, unknown>;

type Target = MysqlPoolLike | Pick<MysqlConnectionLike, "execute" | "query">;

/** A connection as mysql2's promise API gives it, with the prepared-statement cache of its session. */
interface Session {
  execute(options: object): Promise<[unknown, unknown]>;
  unprepare(sql: string): void;
  release?(): void;
}

/**
 * MariaDB 10.11 keeps a prepared statement's table list from when it was prepared: after another
 * session creates a trigger on the table (history switched on, say), executing it failed with
 * "Table '…_history' doesn't exist" on every call, until it was prepared again.
 */
const STALE_PREPARED = new Set([1146, 1615 /* ER_NEED_REPREPARE */]);

/** The server settings read once per executor family. */
export interface ServerFacts {
  maxAllowedPacket: number;
}

/** Protocol overhead of one statement besides its text and values, with room to spare. */
const PACKET_SLACK = 1024;

/** Below every server's minimum max_allowed_packet (1 MiB): nothing to ask the server, and no await on the hot path. */
const CHECK_FROM = 1_048_576;

/** An upper bound of a statement's size on the wire. */
function packetBytes(sql: string, values: readonly unknown[]): number {
  let bytes = sql.length + PACKET_SLACK;
  for (const value of values) bytes += Buffer.isBuffer(value) ? value.length : typeof value === "string" ? Buffer.byteLength(value) : 8;
  return bytes;
}

/**
 * Closes `sql`'s prepared statement on every connection of a mysql2 pool (its internals: the
 * promise pool's core pool and its connection list). Where they are not there (another pool
 * shape), only the connection the retry takes is cleared, as before, and a stale statement on
 * another connection costs that connection the same retry when it meets it.
 */
function forgetEverywhere(pool: MysqlPoolLike, sql: string): void {
  const all = (pool as { pool?: { _allConnections?: { toArray?(): unknown[] } } }).pool?._allConnections;
  for (const connection of all?.toArray?.() ?? []) (connection as Partial<Session>).unprepare?.(sql);
}

/** Renders drizzle `sql` for MySQL; one for the process, it keeps no state between calls. */
const DRIZZLE = new MySqlDialect();

export class MysqlExecutor {
  private readonly pooled: boolean;

  constructor(
    private readonly target: Target,
    /** Named in MissingTablesError when the server does not name the table. */
    private readonly defaultTable: string,
    private readonly facts: () => Promise<ServerFacts>,
  ) {
    this.pooled = "getConnection" in target;
  }

  /** The same rules on another target (the caller's transaction connection). */
  on(target: Target): MysqlExecutor {
    return new MysqlExecutor(target, this.defaultTable, this.facts);
  }

  /**
   * A prepared statement (parsed once per connection): the hot paths. A statement that meets a
   * missing table is prepared again once (see STALE_PREPARED) before the error stands.
   *
   * On a pool it goes through mysql2's own pool.execute, not getConnection() + execute + release
   * (a promise-wrapped connection, two extra promise round trips and a captured stack each): a
   * single store went from 0.66x to 0.75x of raw mysql2 running the same statement on a pool of
   * the same settings (bench/mysql-bench.ts, 4 interleaved rounds of 400, one run each) and reads
   * from 0.81x to 0.86x; in 40 alternations of 50 stores the executor alone took 0.495 ms a store, raw 0.497.
   */
  async execute<R = Row>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    if (packetBytes(sql, values) >= CHECK_FROM) await this.checkPacket(sql, values);
    if (!this.pooled) return this.executeOn(this.target as unknown as Session, sql, values);
    try {
      return ((await (this.target as MysqlPoolLike).execute({ sql, values, dateStrings: true })) as [R[]])[0];
    } catch (error) {
      if (!STALE_PREPARED.has((error as { errno?: number }).errno ?? 0)) throw interpretError(error, this.defaultTable);
    }
    // pool.execute cannot say which connection held the stale statement, and every connection that
    // prepared it holds it stale: forget it on all of them (their next execute prepares it again),
    // then run it once on a connection taken here, where it is surely prepared afresh.
    forgetEverywhere(this.target as MysqlPoolLike, sql);
    let session: Session | undefined;
    try {
      session = (await (this.target as MysqlPoolLike).getConnection()) as Session;
      return await this.executeOn(session, sql, values);
    } catch (error) {
      throw interpretError(error, this.defaultTable);
    } finally {
      session?.release?.();
    }
  }

  /** On one session (a connection of the caller's, or one taken from the pool after a stale statement). */
  private async executeOn<R>(session: Session, sql: string, values: readonly unknown[]): Promise<R[]> {
    try {
      try {
        return (await session.execute({ sql, values, dateStrings: true }))[0] as R[];
      } catch (error) {
        if (!STALE_PREPARED.has((error as { errno?: number }).errno ?? 0)) throw error;
        session.unprepare(sql);
        return (await session.execute({ sql, values, dateStrings: true }))[0] as R[];
      }
    } catch (error) {
      throw interpretError(error, this.defaultTable);
    }
  }

  /** A prepared write; reports affected rows, the insert id and the server's info text. */
  async write(sql: string, values: readonly unknown[] = []): Promise<WriteResult> {
    const result = (await this.execute(sql, values)) as unknown as WriteResult;
    return { affectedRows: result.affectedRows, insertId: Number(result.insertId ?? 0), info: result.info ?? "" };
  }

  /**
   * A statement whose text varies (audit reads, rule deletes, DDL): sent as text with its values
   * escaped by mysql2, so it leaves no prepared statement behind on the server.
   */
  async query<R = Row>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    await this.checkPacket(sql, values);
    try {
      const [rows] = await this.target.query({ sql, values, dateStrings: true });
      return rows as R[];
    } catch (error) {
      throw interpretError(error, this.defaultTable);
    }
  }

  /** A drizzle-built statement as text and values (audit reads, rule deletes, archive moves). */
  render(query: SQL): { sql: string; params: unknown[] } {
    return DRIZZLE.sqlToQuery(query);
  }

  /** A cold-path query built with drizzle's `sql`, sent as text. */
  rows<R = Row>(query: SQL): Promise<R[]> {
    const { sql, params } = DRIZZLE.sqlToQuery(query);
    return this.query<R>(sql, params);
  }

  private async checkPacket(sql: string, values: readonly unknown[]): Promise<void> {
    const bytes = packetBytes(sql, values);
    if (bytes < CHECK_FROM) return;
    const { maxAllowedPacket } = await this.facts();
    if (bytes > maxAllowedPacket)
      throw new ValueTooLargeError(
        "statement",
        bytes,
        maxAllowedPacket,
        "The server's max_allowed_packet is smaller than this write; raise it (SET GLOBAL max_allowed_packet = 1073741824, and in the server's configuration), or store fewer or smaller values at once.",
      );
  }
}

/** Reads the server facts and refuses a session that is not strict: there a value too long for its column is cut, not refused. */
export async function readServerFacts(pool: Pick<MysqlPoolLike, "query">): Promise<ServerFacts> {
  const [rows] = (await pool.query("SELECT @@SESSION.sql_mode AS mode, @@max_allowed_packet AS packet")) as [Row[]];
  const mode = String(rows[0]?.["mode"] ?? "");
  if (!/\bSTRICT_(TRANS|ALL)_TABLES\b/.test(mode))
    throw new ServerSettingsError(
      `the MySQL session is not in strict SQL mode (sql_mode is "${mode}"), so a value too long for its column would be cut instead of refused; add STRICT_TRANS_TABLES to the server's sql_mode (or to the pool's session), then open again`,
    );
  return { maxAllowedPacket: Number(rows[0]?.["packet"]) };
}
