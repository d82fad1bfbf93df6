/**
 * The table, sequence and schema names every statement uses, validated once and quoted once, so
 * no configured name is ever spliced into SQL raw. Celery's `database_table_names` and
 * `database_table_schemas` map onto these: the sequences live in their table's schema and keep
 * Celery's names (its models fix them), the migrations follow the tables.
 */
import { ConfigError } from "../errors.js";
import type { Dialect } from "./driver.js";

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
  if (!IDENTIFIER.test(name)) throw new ConfigError(option, `"${name}" is not a plain SQL identifier (letters, digits, _ and $, at most 63 characters)`);
  return `"${name}"`;
}

export interface Tables {
  config: TableConfig;
  /** Quoted, schema-qualified names, ready for SQL text. */
  task: string;
  group: string;
  taskSequence: string;
  groupSequence: string;
  /** Legal holds (#12): `<task table>_hold`, beside the task table. */
  hold: string;
  /** The archive tier (#12): `<task table>_archive`, beside the task table; created by `migrate --archive`. */
  archive: string;
  /** A quoted, schema-qualified name beside the task table: `<task table>_<suffix>` (archive partitions). */
  besideTask(suffix: string): string;
  /** Where applied migrations are recorded: beside the task table. */
  migrations: string;
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
    migrations: qualify(full.taskSchema, '"taskledger_migrations"', "tableSchemas.task"),
    channel: `taskledger_${full.taskSchema ? `${full.taskSchema}_` : ""}${full.task}`.slice(0, 63),
    rewriteMigration: (sql) => rewrite(sql, full, tables),
  };
  return tables;
}

function rewrite(sql: string, config: TableConfig, tables: Tables): string {
  if (config.task === CELERY_TABLES.task && config.group === CELERY_TABLES.group && !config.taskSchema && !config.groupSchema) return sql;
  const rename = (name: string) => name.replace(CELERY_TABLES.group, config.group).replace(CELERY_TABLES.task, config.task);
  return sql
    .replace(/"public"\."task_id_sequence"/g, tables.taskSequence)
    .replace(/"public"\."taskset_id_sequence"/g, tables.groupSequence)
    .replace(/nextval\('task_id_sequence'\)/g, `nextval('${tables.taskSequence}')`)
    .replace(/nextval\('taskset_id_sequence'\)/g, `nextval('${tables.groupSequence}')`)
    .replace(/(["`])([A-Za-z0-9_$]+)\1/g, (token, quote: string, name: string) => {
      if (name === CELERY_TABLES.task) return quote === '"' ? tables.task : `\`${config.task}\``;
      if (name === CELERY_TABLES.group) return quote === '"' ? tables.group : `\`${config.group}\``;
      // taskledger's own table beside the task table (#12) follows it into its schema.
      if (name === `${CELERY_TABLES.task}_hold`) return quote === '"' ? tables.hold : `\`${config.task}_hold\``;
      return name.includes(CELERY_TABLES.task) || name.includes(CELERY_TABLES.group) ? `${quote}${rename(name)}${quote}` : token;
    });
}
