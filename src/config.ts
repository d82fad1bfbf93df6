/**
 * Options, their defaults, database URLs and durations. Nothing here touches a database.
 */
import { resolve } from "node:path";
import { CELERY_FORMAT, JSON_FORMAT, type ValueFormat } from "./codec/value-format.js";
import { adoptConnection, type ConnectionLike } from "./db/external.js";
import { CELERY_TABLES, type TableConfig } from "./db/tables.js";
import { ConfigError, InvalidUrlError } from "./errors.js";

/** Celery's `result_expires` default: one day. */
export const RESULT_EXPIRES_DEFAULT_MS = 24 * 60 * 60 * 1000;
/** The embedded database used when neither an option nor TASKLEDGER_URL names one. */
export const DEFAULT_SQLITE_FILE = "./taskledger.db";
export const POOL_SIZE_DEFAULT = 10;
/** SQLite waits this long for another writer before our own (async) retry takes over. */
export const SQLITE_BUSY_TIMEOUT_DEFAULT_MS = 100;
export const RETRY_DEFAULTS: RetryOptions = { maxRetries: 6, baseDelayMs: 20, maxDelayMs: 2_000 };

/** A duration: milliseconds as a number, or a string like "500ms", "30s", "15m", "36h", "7d", "2w". */
export type Duration = number | string;

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  maxRetries: number;
  /** Delay before the first retry; each retry doubles it, with jitter. */
  baseDelayMs: number;
  /** Upper bound on one delay. */
  maxDelayMs: number;
}

export interface BackendOptions {
  /** Database URL. Default: TASKLEDGER_URL, else the SQLite file ./taskledger.db. */
  url?: string;
  /**
   * The application's own connection instead of a URL (#13): a pg.Pool, a better-sqlite3
   * Database, or a drizzle database over either. taskledger runs its statements through it and
   * never closes it; on PostgreSQL it opens one more connection of its own, with the pool's
   * settings, for LISTEN. Pool size, busy timeout and createIfMissing do not apply.
   */
  client?: ConnectionLike;
  /** How long results are kept before cleanup deletes them; null or 0 keeps them forever. Default "1d". */
  resultExpires?: Duration | null;
  /** Write name, args, kwargs, worker, retries and queue (Celery's result_extended). Default false. */
  resultExtended?: boolean;
  /** PostgreSQL connections in the pool. Default 10. */
  poolSize?: number;
  /** Apply pending migrations when opening. Default true. */
  migrate?: boolean;
  /** Retry transient faults with exponential backoff; false turns it off. */
  retry?: Partial<RetryOptions> | false;
  /** SQLite busy timeout in milliseconds. Default 100; longer waits are retried without blocking. */
  busyTimeoutMs?: number;
  /** Create a missing SQLite file (default true); false makes a missing file an error. */
  createIfMissing?: boolean;
  /**
   * Write what Celery 5.x reads (default false): results as pickles of plain data, failures as
   * Celery's exception dict, groups as pickled GroupResults, args/kwargs as kombu JSON. Turn it on
   * when Python Celery clients read the results taskledger stores. Reading needs no setting.
   */
  celeryCompatible?: boolean;
  /** Table names, as Celery's `database_table_names` (default celery_taskmeta / celery_tasksetmeta). */
  tableNames?: { task?: string; group?: string };
  /** PostgreSQL schemas of the tables and their sequences, as Celery's `database_table_schemas`. */
  tableSchemas?: { task?: string | null; group?: string | null };
}

export type DatabaseTarget =
  | { dialect: "sqlite"; file: string; display: string; client?: ConnectionLike }
  | { dialect: "postgresql"; url: string; display: string; client?: ConnectionLike };

export interface ResolvedOptions {
  target: DatabaseTarget;
  resultExpiresMs: number | null;
  resultExtended: boolean;
  poolSize: number;
  migrate: boolean;
  retry: RetryOptions;
  busyTimeoutMs: number;
  createIfMissing: boolean;
  tables: TableConfig;
  valueFormat: ValueFormat;
}

const UNITS_MS: Record<string, number> = {
  ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** Parses a duration; bare numbers (and numeric strings) are milliseconds. */
export function parseDuration(value: Duration, option = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(option, `expected a non-negative number of milliseconds, got ${value}`);
    return value;
  }
  const text = value.trim();
  let total = 0;
  let rest = text;
  const part = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?/i;
  if (text === "") rest = "x";
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) throw new ConfigError(option, `cannot read duration "${value}"; use e.g. 500ms, 30s, 15m, 36h, 7d, 1h30m, or a number of milliseconds`);
    total += Number(match[1]) * UNITS_MS[(match[2] ?? "ms").toLowerCase()]!;
    rest = rest.slice(match[0].length).trimStart();
  }
  return Math.round(total);
}

/** Replaces the password of any `scheme://user:password@host` in a text with `***`. */
export function maskUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
}

/**
 * Reads a database URL. Accepts `sqlite:<path>`, `sqlite:///relative`, `sqlite:////absolute`,
 * a bare file path, `:memory:`, `postgres://`, `postgresql://`, and Celery's `db+` prefixed forms
 * with optional SQLAlchemy driver suffixes (`postgresql+psycopg2://`).
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  const masked = maskUrl(raw);
  const text = raw.trim();
  if (text === "") throw new InvalidUrlError(masked, "the database URL is empty");
  if (text === ":memory:") return sqlite(":memory:");
  const withoutDb = text.replace(/^db\+/i, "");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(withoutDb)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[a-z]$/i.test(scheme)) {
    if (text.startsWith("db+")) throw new InvalidUrlError(masked, "db+ must be followed by a URL");
    return sqlite(text); // a bare path (a one-letter "scheme" is a Windows drive)
  }
  const [base, driver] = scheme.split("+", 2) as [string, string | undefined];
  if (base === "sqlite") {
    if (driver !== undefined && driver !== "pysqlite") throw new InvalidUrlError(masked, `unsupported SQLite driver "${driver}"`);
    const rest = withoutDb.slice(scheme.length + 1);
    if (!rest.startsWith("//")) return rest === "" ? bad(masked, "sqlite: needs a file path") : sqlite(rest);
    const afterSlashes = rest.slice(2);
    // SQLAlchemy's convention: sqlite:// is in memory, sqlite:///rel is relative, sqlite:////abs absolute.
    if (afterSlashes === "" || afterSlashes === "/:memory:") return sqlite(":memory:");
    if (!afterSlashes.startsWith("/")) throw new InvalidUrlError(masked, "sqlite:// URLs need a third slash before the path");
    return sqlite(afterSlashes.slice(1).split("?")[0]!);
  }
  if (base === "postgres" || base === "postgresql") {
    const url = "postgresql" + withoutDb.slice(scheme.length);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidUrlError(masked, "malformed PostgreSQL URL");
    }
    if (parsed.hostname === "" && !parsed.searchParams.has("host")) throw new InvalidUrlError(masked, "the PostgreSQL URL has no host");
    return { dialect: "postgresql", url, display: maskUrl(url) };
  }
  throw new InvalidUrlError(masked, `unsupported database "${base}": taskledger stores results in SQLite or PostgreSQL`);
}

function sqlite(file: string): DatabaseTarget {
  return { dialect: "sqlite", file: file === ":memory:" ? file : resolve(file), display: file === ":memory:" ? "sqlite::memory:" : `sqlite:${file}` };
}

function bad(masked: string, reason: string): never {
  throw new InvalidUrlError(masked, reason);
}

/** The URL the library and the CLI use when none is given. */
export function defaultDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env["TASKLEDGER_URL"]?.trim();
  return fromEnv ? fromEnv : DEFAULT_SQLITE_FILE;
}

/** Validates options and fills defaults; every message names the option at fault. */
export function resolveOptions(options: BackendOptions = {}): ResolvedOptions {
  if (options.client !== undefined && options.url !== undefined) throw new ConfigError("client", "give either client or url, not both");
  const target = options.client !== undefined ? clientTarget(options.client) : parseDatabaseUrl(options.url ?? defaultDatabaseUrl());
  const poolSize = options.poolSize ?? POOL_SIZE_DEFAULT;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new ConfigError("poolSize", `expected a positive integer, got ${poolSize}`);
  const busyTimeoutMs = options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_DEFAULT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) throw new ConfigError("busyTimeoutMs", `expected a non-negative integer, got ${busyTimeoutMs}`);
  return {
    target,
    resultExpiresMs: resolveExpires(options.resultExpires, "resultExpires"),
    resultExtended: options.resultExtended ?? false,
    poolSize,
    migrate: options.migrate ?? true,
    retry: resolveRetry(options.retry),
    busyTimeoutMs,
    createIfMissing: options.createIfMissing ?? true,
    valueFormat: options.celeryCompatible ? CELERY_FORMAT : JSON_FORMAT,
    tables: {
      task: options.tableNames?.task ?? CELERY_TABLES.task,
      group: options.tableNames?.group ?? CELERY_TABLES.group,
      taskSchema: options.tableSchemas?.task ?? null,
      groupSchema: options.tableSchemas?.group ?? null,
    },
  };
}

/** The target of an application's connection; checked here so a bad one fails before anything opens. */
function clientTarget(client: ConnectionLike): DatabaseTarget {
  const adopted = adoptConnection(client);
  return adopted.dialect === "postgresql"
    ? { dialect: "postgresql", url: "", display: "postgresql (application pool)", client }
    : { dialect: "sqlite", file: adopted.db.name, display: `sqlite:${adopted.db.name} (application connection)`, client };
}

/** `undefined` means the default (one day); `null` or 0 mean "keep forever" and give null. */
export function resolveExpires(value: Duration | null | undefined, option: string): number | null {
  if (value === undefined) return RESULT_EXPIRES_DEFAULT_MS;
  if (value === null) return null;
  const ms = parseDuration(value, option);
  return ms === 0 ? null : ms;
}

function resolveRetry(retry: BackendOptions["retry"]): RetryOptions {
  if (retry === false) return { ...RETRY_DEFAULTS, maxRetries: 0 };
  const merged = { ...RETRY_DEFAULTS, ...retry };
  for (const key of ["maxRetries", "baseDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(merged[key]) || merged[key] < 0) throw new ConfigError(`retry.${key}`, `expected a non-negative number, got ${merged[key]}`);
  }
  return merged;
}
