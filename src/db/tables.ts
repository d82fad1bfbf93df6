/**
 * The table, sequence and schema names every statement uses, validated once and quoted once, so
 * no configured name is ever spliced into SQL raw. Celery's `database_table_names` and
 * `database_table_schemas` map onto these: the sequences live in their table's schema and keep
 * Celery's names (its models fix them), the migrations follow the tables.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../errors.js";
import type { Dialect } from "./types.js";

/** For exhaustive switches over a union: a new member is a compile error where it is not handled. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}

export interface TableConfig {
  /** Task table; Celery's `database_table_names.task`. */
  task: string;
  /** Group table; Celery's `database_table_names.group`. */
  group: string;
  /** PostgreSQL schema of the task table (and its sequence); null for the search_path default. */
  taskSchema: string | null;
  groupSchema: string | null;
}

/** Celery's defaults (celery/backends/database/models.py). */
export const CELERY_TABLES: TableConfig = { task: "celery_taskmeta", group: "celery_tasksetmeta", taskSchema: null, groupSchema: null };

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Validates an identifier from configuration: plain letters, digits, _ and $ only, so quoting never needs escapes. */
function validIdentifier(name: string, option: string): string {
  if (!IDENTIFIER.test(name))
    throw new ConfigError(option, `"${name}" is not a plain SQL identifier (letters, digits, _ and $, at most 63 characters)`);
  return name;
}

/** Quotes a validated identifier the standard way (PostgreSQL, SQLite). */
export function quoteIdentifier(name: string, option: string): string {
  return `"${validIdentifier(name, option)}"`;
}

/** Quotes a validated identifier for MySQL and MariaDB, where `"` opens a string unless ANSI_QUOTES is set. */
export function quoteMysqlIdentifier(name: string, option: string): string {
  return `\`${validIdentifier(name, option)}\``;
}

/** The dialect's identifier quoter. */
export function identifierQuoter(dialect: Dialect): (name: string, option: string) => string {
  switch (dialect) {
    case "postgresql":
    case "sqlite":
      return quoteIdentifier;
    case "mysql":
      return quoteMysqlIdentifier;
    default:
      return assertNever(dialect);
  }
}

/** The quote characters of identifiers in the dialect's migration files (drizzle-kit writes SQLite's with backticks). */
function migrationQuotes(dialect: Dialect): string {
  switch (dialect) {
    case "postgresql":
      return '"';
    case "sqlite":
      return '"`';
    case "mysql":
      return "`";
    default:
      return assertNever(dialect);
  }
}

export interface Tables {
  config: TableConfig;
  /** The dialect's identifier quoter, validating as it quotes (trigger and index names). */
  quote(name: string, option: string): string;
  /** Quoted, schema-qualified names, ready for SQL text. */
  task: string;
  group: string;
  taskSequence: string;
  groupSequence: string;
  /** Legal holds: `<task table>_hold`, beside the task table. */
  hold: string;
  /** The archive tier: `<task table>_archive`, beside the task table; created by `migrate --archive`. */
  archive: string;
  /** A quoted, schema-qualified name beside the task table: `<task table>_<suffix>` (archive partitions). */
  besideTask(suffix: string): string;
  /** Where applied migrations are recorded: beside the task table, one record per table set. */
  migrations: string;
  /** The same table's bare name (SQLite's catalog and PostgreSQL's to_regclass look it up). */
  migrationsName: string;
  /** `<task table>_history`: one row per state change, kept by triggers. */
  history: string;
  /** `<task table>_interest` (PostgreSQL): the ids waiters wait for, so only those are notified. */
  interest: string;
  /** `<task table>_changes` (MySQL): changes of state of watched ids, appended by a trigger and read by each process's poller. */
  changes: string;
  /** `<task table>_webhook`: registered webhooks. */
  webhook: string;
  /** `<task table>_webhook_outbox`: ready states waiting to be delivered, and dead letters. */
  webhookOutbox: string;
  /** The history triggers, unquoted (`history: false` drops them, `true` creates them again). */
  historyTriggers: readonly string[];
  /** The NOTIFY channel for the task table (PostgreSQL), unquoted: it is passed as a value. */
  channel: string;
  /** Rewrites drizzle-kit's migration SQL, generated for Celery's names, to these names. */
  rewriteMigration(sql: string): string;
}

export function resolveTables(dialect: Dialect, config: Partial<TableConfig> = {}): Tables {
  const full: TableConfig = { ...CELERY_TABLES, ...config };
  if (dialect === "sqlite" && (full.taskSchema || full.groupSchema)) {
    throw new ConfigError("tableSchemas", "SQLite has no schemas; table schemas apply to PostgreSQL only");
  }
  const quote = identifierQuoter(dialect);
  if (full.task === full.group) throw new ConfigError("tableNames", "the task and group tables need different names");
  // A schema (a database on MySQL) qualifies the name; validated and quoted like the name.
  const qualify = (schema: string | null, name: string, option: string, schemaOption: string) =>
    schema ? `${quote(schema, schemaOption)}.${quote(name, option)}` : quote(name, option);
  const besideTask = (suffix: string) => qualify(full.taskSchema, `${full.task}_${suffix}`, "tableNames.task", "tableSchemas.task");
  const tables: Tables = {
    config: full,
    quote,
    task: qualify(full.taskSchema, full.task, "tableNames.task", "tableSchemas.task"),
    group: qualify(full.groupSchema, full.group, "tableNames.group", "tableSchemas.group"),
    taskSequence: qualify(full.taskSchema, "task_id_sequence", "tableNames.task", "tableSchemas.task"),
    groupSequence: qualify(full.groupSchema, "taskset_id_sequence", "tableNames.group", "tableSchemas.group"),
    hold: besideTask("hold"),
    archive: besideTask("archive"),
    besideTask,
    migrations: qualify(full.taskSchema, migrationsTableName(full), "tableNames", "tableSchemas.task"),
    migrationsName: migrationsTableName(full),
    history: besideTask("history"),
    interest: besideTask("interest"),
    changes: besideTask("changes"),
    webhook: besideTask("webhook"),
    webhookOutbox: besideTask("webhook_outbox"),
    historyTriggers: [`${full.task}_tl_history_insert`, `${full.task}_tl_history_update`],
    channel: `taskledger_${full.taskSchema ? `${full.taskSchema}_` : ""}${full.task}`.slice(0, 63),
    rewriteMigration: (sql) => rewrite(sql, full, tables, migrationQuotes(dialect), dialect === "mysql"),
  };
  return tables;
}

/** Where Celery's own table names record their migrations (the name round 1 used for every set). */
export const MIGRATIONS_TABLE = "taskledger_migrations";

/**
 * The record of applied migrations belongs to a set of tables, not to the database: with one
 * record per database (or schema), a second set of configured names found the first set's
 * migrations "applied" and its tables never existed ("no such table"). Celery's names keep
 * `taskledger_migrations`, so databases migrated before keep their record; other names get
 * `taskledger_migrations_<task>_<group>`, or a hash of the two where that exceeds 63 characters.
 */
export function migrationsTableName(config: TableConfig): string {
  if (config.task === CELERY_TABLES.task && config.group === CELERY_TABLES.group) return MIGRATIONS_TABLE;
  const readable = `${MIGRATIONS_TABLE}_${config.task}_${config.group}`;
  if (readable.length <= 63) return readable;
  return `${MIGRATIONS_TABLE}_${createHash("sha256").update(`${config.task}\n${config.group}`).digest("hex").slice(0, 16)}`;
}

/**
 * Relations and functions of migrations 0002 and 0006 that live beside the task table: schema-qualified
 * when renamed, where other names (indexes, triggers, constraints) are only renamed.
 */
const TASK_SCHEMA_OBJECTS = new Set(
  [
    "history",
    "interest",
    "changes",
    "notify_ready",
    "history_on_insert",
    "history_on_update",
    "history_on_delete",
    "webhook",
    "webhook_outbox",
    "webhook_on_insert",
    "webhook_on_update",
  ].map((suffix) => `${CELERY_TABLES.task}_${suffix}`),
);

/**
 * Rewrites a migration generated for Celery's names. Every identifier token quoted the way the
 * dialect's migration files quote them is replaced by the resolved (quoted, qualified) name, so the
 * quoting is the dialect's own and never a second convention patched in.
 */
function rewrite(sql: string, config: TableConfig, tables: Tables, quotes: string, schemaTriggers: boolean): string {
  if (config.task === CELERY_TABLES.task && config.group === CELERY_TABLES.group && !config.taskSchema && !config.groupSchema) return sql;
  const rename = (name: string) => name.replace(CELERY_TABLES.group, config.group).replace(CELERY_TABLES.task, config.task);
  const escaped = quotes.replace(/[\]^$.*+?()[{}|-]/g, "\\$&");
  const token = new RegExp(`([${escaped}])([A-Za-z0-9_$]+)\\1`, "g");
  const resolved: Record<string, string> = {
    [CELERY_TABLES.task]: tables.task,
    [CELERY_TABLES.group]: tables.group,
    [`${CELERY_TABLES.task}_hold`]: tables.hold,
    task_id_sequence: tables.taskSequence,
    taskset_id_sequence: tables.groupSequence,
  };
  return (
    sql
      // The NOTIFY channel, passed to the notify trigger as an argument (validated characters only).
      .replace(/'taskledger_celery_taskmeta'/g, `'${tables.channel}'`)
      // drizzle-kit qualifies PostgreSQL's sequences and foreign-key targets with "public"; the token pass below qualifies them as configured.
      .replace(/"public"\.(?="task_id_sequence"|"taskset_id_sequence"|"celery_taskmeta_webhook")/g, "")
      .replace(token, (whole, _quote: string, name: string) => {
        const known = resolved[name];
        if (known !== undefined) return known;
        // taskledger's own relations beside the task table follow it into its schema.
        if (TASK_SCHEMA_OBJECTS.has(name)) return tables.besideTask(name.slice(CELERY_TABLES.task.length + 1));
        // A MySQL trigger lives in its table's database: named there, or CREATE TRIGGER fails (wrong schema).
        if (schemaTriggers && name.startsWith(`${CELERY_TABLES.task}_tl_`))
          return tables.besideTask(name.slice(CELERY_TABLES.task.length + 1));
        return name.includes(CELERY_TABLES.task) || name.includes(CELERY_TABLES.group) ? tables.quote(rename(name), "tableNames") : whole;
      })
      // After the token pass, which would qualify the quoted name inside the text a second time.
      .replace(/nextval\('task_id_sequence'\)/g, `nextval('${tables.taskSequence}')`)
      .replace(/nextval\('taskset_id_sequence'\)/g, `nextval('${tables.groupSequence}')`)
  );
}
