/**
 * The table, sequence and schema names every statement uses, validated once and quoted once, so
 * no configured name is ever spliced into SQL raw. Celery's `database_table_names` and
 * `database_table_schemas` map onto these: the sequences live in their table's schema and keep
 * Celery's names (its models fix them), the migrations follow the tables.
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../errors.js";
import type { Dialect } from "./types.js";

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

/** Quotes a validated identifier. */
export function quoteIdentifier(name: string, option: string): string {
  if (!IDENTIFIER.test(name))
    throw new ConfigError(option, `"${name}" is not a plain SQL identifier (letters, digits, _ and $, at most 63 characters)`);
  return `"${name}"`;
}

export interface Tables {
  config: TableConfig;
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
  const task = quoteIdentifier(full.task, "tableNames.task");
  const group = quoteIdentifier(full.group, "tableNames.group");
  if (full.task === full.group) throw new ConfigError("tableNames", "the task and group tables need different names");
  const qualify = (schema: string | null, name: string, option: string) => (schema ? `${quoteIdentifier(schema, option)}.${name}` : name);
  const tables: Tables = {
    config: full,
    task: qualify(full.taskSchema, task, "tableSchemas.task"),
    group: qualify(full.groupSchema, group, "tableSchemas.group"),
    taskSequence: qualify(full.taskSchema, '"task_id_sequence"', "tableSchemas.task"),
    groupSequence: qualify(full.groupSchema, '"taskset_id_sequence"', "tableSchemas.group"),
    hold: qualify(full.taskSchema, quoteIdentifier(`${full.task}_hold`, "tableNames.task"), "tableSchemas.task"),
    archive: qualify(full.taskSchema, quoteIdentifier(`${full.task}_archive`, "tableNames.task"), "tableSchemas.task"),
    besideTask: (suffix) => qualify(full.taskSchema, quoteIdentifier(`${full.task}_${suffix}`, "tableNames.task"), "tableSchemas.task"),
    migrations: qualify(full.taskSchema, quoteIdentifier(migrationsTableName(full), "tableNames"), "tableSchemas.task"),
    migrationsName: migrationsTableName(full),
    history: qualify(full.taskSchema, quoteIdentifier(`${full.task}_history`, "tableNames.task"), "tableSchemas.task"),
    interest: qualify(full.taskSchema, quoteIdentifier(`${full.task}_interest`, "tableNames.task"), "tableSchemas.task"),
    webhook: qualify(full.taskSchema, quoteIdentifier(`${full.task}_webhook`, "tableNames.task"), "tableSchemas.task"),
    webhookOutbox: qualify(full.taskSchema, quoteIdentifier(`${full.task}_webhook_outbox`, "tableNames.task"), "tableSchemas.task"),
    historyTriggers: [`${full.task}_tl_history_insert`, `${full.task}_tl_history_update`],
    channel: `taskledger_${full.taskSchema ? `${full.taskSchema}_` : ""}${full.task}`.slice(0, 63),
    rewriteMigration: (sql) => rewrite(sql, full, tables),
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

function rewrite(sql: string, config: TableConfig, tables: Tables): string {
  if (config.task === CELERY_TABLES.task && config.group === CELERY_TABLES.group && !config.taskSchema && !config.groupSchema) return sql;
  const rename = (name: string) => name.replace(CELERY_TABLES.group, config.group).replace(CELERY_TABLES.task, config.task);
  const qualified = (name: string) => (config.taskSchema ? `"${config.taskSchema}"."${rename(name)}"` : `"${rename(name)}"`);
  return (
    sql
      // The NOTIFY channel, passed to the notify trigger as an argument (validated characters only).
      .replace(/'taskledger_celery_taskmeta'/g, `'${tables.channel}'`)
      // drizzle-kit qualifies a foreign key's target with the default schema.
      .replace(/"public"\."celery_taskmeta_webhook"/g, `"${CELERY_TABLES.task}_webhook"`)
      .replace(/"public"\."task_id_sequence"/g, tables.taskSequence)
      .replace(/"public"\."taskset_id_sequence"/g, tables.groupSequence)
      .replace(/nextval\('task_id_sequence'\)/g, `nextval('${tables.taskSequence}')`)
      .replace(/nextval\('taskset_id_sequence'\)/g, `nextval('${tables.groupSequence}')`)
      .replace(/(["`])([A-Za-z0-9_$]+)\1/g, (token, quote: string, name: string) => {
        if (name === CELERY_TABLES.task) return quote === '"' ? tables.task : `\`${config.task}\``;
        if (name === CELERY_TABLES.group) return quote === '"' ? tables.group : `\`${config.group}\``;
        // taskledger's own table beside the task table follows it into its schema.
        if (name === `${CELERY_TABLES.task}_hold`) return quote === '"' ? tables.hold : `\`${config.task}_hold\``;
        if (quote === '"' && TASK_SCHEMA_OBJECTS.has(name)) return qualified(name);
        return name.includes(CELERY_TABLES.task) || name.includes(CELERY_TABLES.group) ? `${quote}${rename(name)}${quote}` : token;
      })
  );
}
