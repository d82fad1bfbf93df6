/**
 * The table and sequence names every statement uses, validated once and quoted once, so no
 * configured name is ever spliced into SQL raw. Both dialects accept double-quoted identifiers.
 */
import { ConfigError } from "../errors.js";

export interface TableNames {
  task: string;
  group: string;
  taskSequence: string;
  groupSequence: string;
}

/** Celery's names (celery/backends/database/models.py). */
export const CELERY_TABLE_NAMES: TableNames = {
  task: "celery_taskmeta",
  group: "celery_tasksetmeta",
  taskSequence: "task_id_sequence",
  groupSequence: "taskset_id_sequence",
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** Quotes a validated identifier. */
export function quoteIdentifier(name: string, option: string): string {
  if (!IDENTIFIER.test(name)) throw new ConfigError(option, `"${name}" is not a plain SQL identifier (letters, digits, _ and $, at most 63 characters)`);
  return `"${name}"`;
}

export interface QuotedTables {
  task: string;
  group: string;
  taskSequence: string;
  groupSequence: string;
  /** The NOTIFY channel for this task table (PostgreSQL), unquoted: it is passed as a value. */
  channel: string;
}

export function quoteTables(names: TableNames = CELERY_TABLE_NAMES): QuotedTables {
  return {
    task: quoteIdentifier(names.task, "tables.task"),
    group: quoteIdentifier(names.group, "tables.group"),
    taskSequence: quoteIdentifier(names.taskSequence, "tables.taskSequence"),
    groupSequence: quoteIdentifier(names.groupSequence, "tables.groupSequence"),
    channel: `taskledger_${names.task}`,
  };
}
