/**
 * Options, their defaults, database URLs and durations. Nothing here touches a database.
 */
import { resolve } from "node:path";
import type { CleanupJobOptions } from "./cleanup/options.js";
import { CELERY_FORMAT, JSON_FORMAT, type ValueFormat } from "./codec/value-format.js";
import { adoptConnection, type ConnectionLike } from "./db/external.js";
import { assertNever, CELERY_TABLES, type TableConfig } from "./db/tables.js";
import { ConfigError, InvalidUrlError } from "./errors.js";
import type { Duration } from "./types.js";

export type { Duration };

/** Celery's `result_expires` default: one day. */
export const RESULT_EXPIRES_DEFAULT_MS = 24 * 60 * 60 * 1000;
/** The embedded database used when neither an option nor TASKLEDGER_URL names one. */
export const DEFAULT_SQLITE_FILE = "./taskledger.db";
export const POOL_SIZE_DEFAULT = 10;
/** SQLite waits this long for another writer before our own (async) retry takes over. */
export const SQLITE_BUSY_TIMEOUT_DEFAULT_MS = 100;
/**
 * Transient faults are retried for a time budget, not a count: 7 attempts gave up after about
 * 1 s, shorter than an ordinary PostgreSQL restart (0.75-2.9 s measured), so every restart
 * surfaced errors to writers, and 251 stores reported as failed had committed. 15 s covers
 * a restart with room; each delay is capped at 1 s so a writer resumes soon after the server.
 */
export const RETRY_BUDGET_DEFAULT_MS = 15_000;
export const RETRY_DEFAULTS: RetryOptions = { budgetMs: RETRY_BUDGET_DEFAULT_MS, maxRetries: null, baseDelayMs: 20, maxDelayMs: 1_000 };

export interface RetryOptions {
  /** How long transient faults are retried, from the first attempt (ms); 0 turns retrying off. */
  budgetMs: number;
  /** An extra cap on retries after the first attempt; null (default) means only the budget counts. */
  maxRetries: number | null;
  /** Delay before the first retry; each retry doubles it, with jitter. */
  baseDelayMs: number;
  /** Upper bound on one delay. */
  maxDelayMs: number;
}

/** RetryOptions as callers may write them: the delays as milliseconds or durations ("2s"). */
export interface RetryInput {
  maxRetries: number | null;
  baseDelayMs: Duration;
  maxDelayMs: Duration;
}

export interface BackendOptions {
  /** Database URL. Default: TASKLEDGER_URL, else the SQLite file ./taskledger.db. */
  url?: string;
  /**
   * The application's own connection instead of a URL: a pg.Pool, a better-sqlite3
   * Database, or a drizzle database over either. taskledger runs its statements through it and
   * never closes it; on PostgreSQL it opens one more connection of its own, with the pool's
   * settings, for LISTEN. Pool size, busy timeout and createIfMissing do not apply.
   */
  client?: ConnectionLike;
  /**
   * A streaming replica of the same PostgreSQL database for audit reads: list, show, stats,
   * export and the web view's pages and API. Stores, waits, holds, forget and cleanup stay on
   * `url` (or `client`). Replicas lag: a result just stored may not be listed yet.
   */
  readUrl?: string;
  /** How long results are kept before cleanup deletes them; null, 0 or "forever" ("never", "none") keeps them forever. Default "1d". */
  resultExpires?: Duration | null;
  /** Write name, args, kwargs, worker, retries and queue (Celery's result_extended). Default false. */
  resultExtended?: boolean;
  /** PostgreSQL connections in the pool. Default 10. */
  poolSize?: number;
  /** Apply pending migrations when opening. Default true. */
  migrate?: boolean;
  /**
   * After migrating, distribute the tables on a Citus coordinator (`migrate --distribute`;
   * README, Scaling out). Idempotent. Default false.
   */
  distribute?: boolean;
  /**
   * How long an operation keeps retrying transient faults (connection resets, server restarts,
   * SQLITE_BUSY) before it throws DatabaseError: a duration ("15s") or milliseconds. Default 15 s;
   * 0 turns retrying off. Waiters (get(), join()) are not bound by it: they wait until their own timeout.
   */
  retryBudget?: Duration;
  /** Backoff details for transient faults (delays as durations, an optional retry cap); false turns retrying off. */
  retry?: Partial<RetryInput> | false;
  /** SQLite busy timeout: milliseconds, or a duration such as "250ms". Default 100; longer waits are retried without blocking. */
  busyTimeoutMs?: Duration;
  /** Create a missing SQLite file (default true); false makes a missing file an error. */
  createIfMissing?: boolean;
  /**
   * Write what Celery 5.x reads (default false): results as pickles of plain data, failures as
   * Celery's exception dict, groups as pickled GroupResults, args/kwargs as kombu JSON. Turn it on
   * when Python Celery clients read the results taskledger stores. Reading needs no setting.
   */
  celeryCompatible?: boolean;
  /**
   * Keep the history of every state change: true installs the history triggers, false drops
   * them (for every writer: it is a property of the database). Default: leave the database as it
   * is; migrations install history, so it is on unless someone switched it off.
   */
  history?: boolean;
  /** Table names, as Celery's `database_table_names` (default celery_taskmeta / celery_tasksetmeta). */
  tableNames?: { task?: string; group?: string };
  /** PostgreSQL schemas of the tables and their sequences, as Celery's `database_table_schemas`. */
  tableSchemas?: { task?: string | null; group?: string | null };
  /** Start the cleanup job on open, e.g. `{ every: "1h" }` (see DatabaseBackend.startCleanupJob). */
  cleanupJob?: CleanupJobOptions;
}

export type DatabaseTarget =
  | { dialect: "sqlite"; file: string; display: string; client?: ConnectionLike }
  | { dialect: "postgresql"; url: string; display: string; client?: ConnectionLike }
  /** MySQL or MariaDB; `url` is normalised to `mysql://`. */
  | { dialect: "mysql"; url: string; display: string; client?: ConnectionLike };

export interface ResolvedOptions {
  target: DatabaseTarget;
  /** Where audit reads go: a replica (readUrl), else undefined (the target). */
  readTarget: DatabaseTarget | undefined;
  resultExpiresMs: number | null;
  resultExtended: boolean;
  poolSize: number;
  migrate: boolean;
  distribute: boolean;
  retry: RetryOptions;
  busyTimeoutMs: number;
  createIfMissing: boolean;
  tables: TableConfig;
  valueFormat: ValueFormat;
  /** undefined: leave the history triggers as the database has them. */
  history: boolean | undefined;
}

const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses a duration; bare numbers (and numeric strings) are milliseconds. */
export function parseDuration(value: Duration, option = "duration"): number {
  return durationMs(value, option, "use e.g. 500ms, 30s, 15m, 36h, 7d, 1h30m, or a number of milliseconds");
}

/**
 * The longest retention (or age) a cleanup takes: 36500d, 100 years. Cleanup sends the database
 * now minus the retention, and the archive files a row under date_done plus it, both as naive
 * timestamps with four-digit years: 1,000,000d reaches year -711, which PostgreSQL refuses
 * ("-000711-01 09T…") and SQLite compares as text without complaint, and longer still is not a
 * JavaScript Date at all ("Invalid time value"). A hundred years keeps both ends far inside years
 * 1 to 9999 for any clock this code will meet, and is longer than any retention law asks for;
 * what must outlive it is kept forever.
 */
export const RETENTION_MAX_MS = 36_500 * 86_400_000;
/** RETENTION_MAX_MS, and how a message spells it. */
const RETENTION_MAX = { ms: RETENTION_MAX_MS, text: "36500d (100 years)" };

/**
 * Reads how far back from now a cleanup reaches (archiveAfter, --archive-after): a duration of
 * at most RETENTION_MAX_MS, for the same reason as a retention.
 */
export function parseAge(value: Duration, option: string): number {
  return durationMs(value, option, "use e.g. 7d, 36h or 1h30m, or a number of milliseconds", RETENTION_MAX);
}

/**
 * The words that mean "keep forever" wherever a retention is read: `--expires`, `--keep`,
 * `--keep-failures`, TASKLEDGER_RESULT_EXPIRES, a policy file's `expires` and rules, and the
 * library's `resultExpires`, `expires`, `keep` and rules. Any case, surrounding blanks ignored.
 */
export const FOREVER_WORDS: readonly string[] = ["forever", "never", "none"];

/**
 * Reads a retention (how long rows stay): a duration, or forever, returned as null. Forever is
 * null, a zero duration (0, "0", "0s", ...) or one of FOREVER_WORDS in any case. Anything else
 * unreadable is a ConfigError naming `option` that says what to write instead.
 */
export function parseRetention(value: Duration | null, option: string): number | null {
  if (value === null) return null;
  if (typeof value === "string" && FOREVER_WORDS.includes(value.trim().toLowerCase())) return null;
  const ms = durationMs(
    value,
    option,
    `use a duration such as 7d, 36h or 1h30m (a bare number is milliseconds), or ${FOREVER_WORDS.join(", ")} to keep rows forever`,
    { ...RETENTION_MAX, beyond: `; to keep rows longer, keep them forever (${FOREVER_WORDS.join(", ")})` },
  );
  return ms === 0 ? null : ms;
}

/** `max` bounds the result; its `beyond` ends the message that refuses a longer one. */
function durationMs(value: Duration, option: string, instead: string, max?: { ms: number; text: string; beyond?: string }): number {
  const shown = typeof value === "number" ? `${value} ms` : `"${value}"`;
  const tooLong = () =>
    new ConfigError(option, `${shown} is longer than the longest accepted, ${max!.text}; use ${max!.text} or less${max!.beyond ?? ""}`);
  if (typeof value === "number") {
    if (Number.isNaN(value) || value < 0) throw new ConfigError(option, `expected a non-negative number of milliseconds, got ${value}`);
    if (max && value > max.ms) throw tooLong();
    if (!Number.isFinite(value)) throw new ConfigError(option, `expected a non-negative number of milliseconds, got ${value}`);
    return value;
  }
  const text = value.trim();
  let total = 0;
  let rest = text;
  const part = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?/i;
  if (text === "") rest = "x";
  while (rest.length > 0) {
    const match = part.exec(rest);
    if (!match) throw new ConfigError(option, `cannot read duration "${value}"; ${instead}`);
    total += Number(match[1]) * UNITS_MS[(match[2] ?? "ms").toLowerCase()]!;
    rest = rest.slice(match[0].length).trimStart();
  }
  if (max && total > max.ms) throw tooLong();
  if (!Number.isFinite(total)) throw new ConfigError(option, `duration "${value}" is too long`);
  return Math.round(total);
}

/**
 * Query parameter names that carry a secret (`password`, `sslpassword`, `passwd`, `pwd`,
 * `secret`, `token`, `api_key`, …): their values are masked like a URL's password.
 */
const SECRET_PARAM = /(pass|pwd|secret|token|api[_-]?key|credential)|^auth$/i;

/**
 * A URL-like token: a scheme, `//`, and everything up to whitespace or a quote. A password may
 * hold a raw `@`, `/`, `?` or `#` (libpq and WHATWG both take the userinfo up to the LAST `@`),
 * so the userinfo is masked up to the last `@` of the token: masking too much beats leaking.
 */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'`<>]*)/gi;

/**
 * Replaces the secrets of every URL in a text with `***`: the password of `scheme://user:password@host`
 * (up to the last `@`), and the values of password-like query parameters (`?password=`,
 * `&sslpassword=`). Used on every line the CLI prints and in every URL an error message carries.
 */
export function maskUrl(text: string): string {
  return text
    .replace(URL_TOKEN, (_whole, scheme: string, rest: string) => {
      const at = rest.lastIndexOf("@");
      const colon = rest.indexOf(":");
      let masked = rest;
      if (at > 0 && colon >= 0 && colon < at) masked = `${rest.slice(0, colon)}:***${rest.slice(at)}`;
      return scheme + masked;
    })
    .replace(/[?&;][^=&;?#\s"'`<>]*=[^&;#\s"'`<>]*/g, maskSecretParams);
}

/** Masks the values of password-like `name=value` query parameters (`?`, `&` or `;` separated). */
function maskSecretParams(text: string): string {
  return text.replace(/([?&;]([^=&;?#\s"'`<>]*)=)([^&;#\s"'`<>]*)/g, (whole, head: string, name: string, value: string) =>
    SECRET_PARAM.test(name) && value !== "" ? `${head}***` : whole,
  );
}

/** libpq's key/value connection keywords (`host=db password=…`), which taskledger does not take. */
const LIBPQ_KEYWORDS =
  /(?:^|\s)(?:host|hostaddr|port|dbname|user|password|passfile|sslmode|sslpassword|sslcert|sslkey|sslrootcert|connect_timeout|application_name|options|service|target_session_attrs)\s*=/i;

/**
 * The secrets a database URL (or a libpq key/value string) carries, raw and percent-decoded:
 * the CLI redacts these literal strings from every line it prints, a second guard behind
 * maskUrl for forms no pattern foresaw. Secrets shorter than 4 characters are left to maskUrl.
 */
export function secretsOf(raw: string): string[] {
  const found = new Set<string>();
  const add = (value: string | undefined) => {
    if (!value) return;
    for (const form of [value, safeDecode(value)]) if (form.length >= 4) found.add(form);
  };
  for (const match of raw.matchAll(URL_TOKEN)) {
    const rest = match[2]!;
    const at = rest.lastIndexOf("@");
    const colon = rest.indexOf(":");
    if (at > 0 && colon >= 0 && colon < at) add(rest.slice(colon + 1, at));
    for (const param of rest.matchAll(/[?&;]([^=&;?#\s]*)=([^&;#\s]*)/g)) if (SECRET_PARAM.test(param[1]!)) add(param[2]);
  }
  for (const pair of raw.matchAll(/(?:^|\s)([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)/gi)) {
    if (SECRET_PARAM.test(pair[1]!)) add(pair[2]!.replace(/^'(.*)'$/, "$1"));
  }
  return [...found];
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Reads a database URL. Accepts `sqlite:<path>`, `sqlite:///relative`, `sqlite:////absolute`,
 * a bare file path, `:memory:`, `postgres://`, `postgresql://`, `mysql://`, `mariadb://`, and
 * Celery's `db+` prefixed forms with optional SQLAlchemy driver suffixes (`postgresql+psycopg2://`,
 * `mysql+pymysql://`, `mysql+mysqldb://`).
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  const masked = maskUrl(raw);
  const text = raw.trim();
  if (text === "") throw new InvalidUrlError(masked, "the database URL is empty");
  if (text === ":memory:") return sqlite(":memory:");
  // A libpq key/value string would otherwise be taken as a SQLite file name and echoed with its
  // password in "no SQLite database at …"; it is refused without repeating any of it.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && LIBPQ_KEYWORDS.test(text)) {
    throw new InvalidUrlError(
      "<libpq key/value string, not shown>",
      "libpq key/value connection strings (host=… password=…) are not supported; write it as a URL: postgres://user:password@host:5432/dbname",
    );
  }
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
  if (base === "mysql" || base === "mariadb") {
    if (driver !== undefined && !MYSQL_DRIVERS.has(driver))
      throw new InvalidUrlError(masked, `unsupported MySQL driver "${driver}"; use mysql://, mariadb:// or db+mysql+pymysql://`);
    const url = "mysql" + withoutDb.slice(scheme.length);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidUrlError(masked, "malformed MySQL URL");
    }
    if (parsed.hostname === "" && !parsed.searchParams.has("unix_socket")) throw new InvalidUrlError(masked, "the MySQL URL has no host");
    if (parsed.pathname.replace(/^\//, "") === "")
      throw new InvalidUrlError(masked, "the MySQL URL names no database; add it as the path: mysql://user@host:3306/dbname");
    for (const key of parsed.searchParams.keys())
      if (!MYSQL_PARAMS.has(key))
        throw new InvalidUrlError(
          masked,
          `unsupported MySQL URL parameter "${key}"; taskledger reads ${[...MYSQL_PARAMS].join(", ")} (the character set is always utf8mb4)`,
        );
    return { dialect: "mysql", url, display: maskUrl(url) };
  }
  throw new InvalidUrlError(masked, `unsupported database "${base}": taskledger stores results in SQLite, PostgreSQL or MySQL/MariaDB`);
}

/** SQLAlchemy's MySQL driver names a Celery URL may carry; taskledger connects with mysql2 whatever it says. */
const MYSQL_DRIVERS = new Set(["pymysql", "mysqldb", "mysqlconnector", "mariadbconnector"]);
/** The URL parameters a MySQL URL may carry (SQLAlchemy's names). */
const MYSQL_PARAMS = new Set(["charset", "unix_socket", "ssl", "connect_timeout"]);

function sqlite(file: string): DatabaseTarget {
  return {
    dialect: "sqlite",
    file: file === ":memory:" ? file : resolve(file),
    display: file === ":memory:" ? "sqlite::memory:" : `sqlite:${file}`,
  };
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
  const busyTimeoutMs = parseDuration(options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_DEFAULT_MS, "busyTimeoutMs");
  if (!Number.isInteger(busyTimeoutMs))
    throw new ConfigError("busyTimeoutMs", `expected a whole number of milliseconds, got ${busyTimeoutMs}`);
  return {
    target,
    readTarget: resolveReadTarget(options.readUrl, target),
    resultExpiresMs: resolveExpires(options.resultExpires, "resultExpires"),
    resultExtended: options.resultExtended ?? false,
    poolSize,
    migrate: options.migrate ?? true,
    distribute: options.distribute ?? false,
    retry: resolveRetry(options.retry, options.retryBudget),
    busyTimeoutMs,
    createIfMissing: options.createIfMissing ?? true,
    valueFormat: options.celeryCompatible ? CELERY_FORMAT : JSON_FORMAT,
    history: resolveHistory(options.history),
    tables: {
      task: options.tableNames?.task ?? CELERY_TABLES.task,
      group: options.tableNames?.group ?? CELERY_TABLES.group,
      taskSchema: options.tableSchemas?.task ?? null,
      groupSchema: options.tableSchemas?.group ?? null,
    },
  };
}

/** A read replica's target: PostgreSQL's streaming replicas only, of a PostgreSQL primary. */
function resolveReadTarget(readUrl: string | undefined, target: DatabaseTarget): DatabaseTarget | undefined {
  if (readUrl === undefined || readUrl.trim() === "") return undefined;
  const read = parseDatabaseUrl(readUrl);
  if (read.dialect !== "postgresql" || target.dialect !== "postgresql")
    throw new ConfigError(
      "readUrl",
      `read replicas are PostgreSQL streaming replicas of a PostgreSQL primary; got ${read.display} for a ${target.dialect} database. Leave readUrl out to read from the database itself`,
    );
  return read;
}

/** The target of an application's connection; checked here so a bad one fails before anything opens. */
function clientTarget(client: ConnectionLike): DatabaseTarget {
  const adopted = adoptConnection(client);
  switch (adopted.dialect) {
    case "postgresql":
      return { dialect: "postgresql", url: "", display: "postgresql (application pool)", client };
    case "sqlite":
      return { dialect: "sqlite", file: adopted.db.name, display: `sqlite:${adopted.db.name} (application connection)`, client };
    case "mysql":
      return { dialect: "mysql", url: "", display: "mysql (application pool)", client };
    default:
      return assertNever(adopted);
  }
}

/**
 * A retention option of the library (resultExpires, cleanup's expires and staleAfter): `undefined`
 * means the default (one day); null, 0 and the FOREVER_WORDS mean "keep forever" and give null.
 */
export function resolveExpires(value: Duration | null | undefined, option: string): number | null {
  return value === undefined ? RESULT_EXPIRES_DEFAULT_MS : parseRetention(value, option);
}

function resolveHistory(value: unknown): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value;
  throw new ConfigError("history", `expected true or false, got ${JSON.stringify(value)}`);
}

function resolveRetry(retry: BackendOptions["retry"], budget: Duration | undefined): RetryOptions {
  const budgetMs = budget === undefined ? RETRY_DEFAULTS.budgetMs : parseDuration(budget, "retryBudget");
  if (retry === false) return { ...RETRY_DEFAULTS, budgetMs: 0, maxRetries: 0 };
  const merged = {
    budgetMs,
    maxRetries: retry?.maxRetries === undefined ? RETRY_DEFAULTS.maxRetries : retry.maxRetries,
    baseDelayMs: retry?.baseDelayMs === undefined ? RETRY_DEFAULTS.baseDelayMs : parseDuration(retry.baseDelayMs, "retry.baseDelayMs"),
    maxDelayMs: retry?.maxDelayMs === undefined ? RETRY_DEFAULTS.maxDelayMs : parseDuration(retry.maxDelayMs, "retry.maxDelayMs"),
  };
  for (const key of ["budgetMs", "baseDelayMs", "maxDelayMs"] as const) {
    if (!Number.isFinite(merged[key]) || merged[key] < 0)
      throw new ConfigError(key === "budgetMs" ? "retryBudget" : `retry.${key}`, `expected a non-negative number, got ${merged[key]}`);
  }
  const max = merged.maxRetries;
  if (max !== null && (!Number.isFinite(max) || max < 0))
    throw new ConfigError("retry.maxRetries", `expected a non-negative number or null, got ${max}`);
  return merged;
}

/**
 * The earliest point in time a filter takes: timestamps travel as naive text with four-digit
 * years, and PostgreSQL has no year 0, so "0000-01-01" or "1000000d" ago fails there as a
 * malformed timestamp (SQLite would quietly compare the text).
 */
const EARLIEST_POINT = new Date("0001-01-01T00:00:00Z");

/** A point in time from "24h"/"7d" (that long ago) or an ISO date/time (naive means UTC). */
export function parsePointInTime(value: string, option: string, now = new Date()): Date {
  const text = value.trim();
  const tooEarly = () =>
    new ConfigError(
      option,
      `"${value}" reaches before 0001-01-01, the earliest date a filter can name; use a shorter duration or a later date`,
    );
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const hasZone = /(?:[zZ]|[+-]\d{2}:?\d{2})$/.test(text);
    const date = new Date(hasZone || text.length === 10 ? text : `${text.replace(" ", "T")}Z`);
    if (Number.isNaN(date.getTime()))
      throw new ConfigError(
        option,
        `cannot read date "${value}"; use an ISO date such as 2026-11-17 or 2026-11-17T08:00Z, or a duration such as 24h`,
      );
    if (date < EARLIEST_POINT) throw tooEarly();
    return date;
  }
  const at = new Date(now.getTime() - parseDuration(text, option));
  // "99999999999d" ago is not a Date at all; "1000000d" ago is one no database takes.
  if (Number.isNaN(at.getTime()) || at < EARLIEST_POINT) throw tooEarly();
  return at;
}
