/**
 * The drizzle table definitions an application imports from `taskledger/drizzle`, built
 * for its configured names and schema by the same factories that drizzle-kit generates our
 * migrations from (./pg/schema.ts, ./sqlite/schema.ts), with decoding column types: value
 * columns (result, args, kwargs, children) read as decoded JSON or Celery pickle, times as UTC
 * Dates. The SQL types are the migrations' own, so nothing here changes the tables.
 */
import { customType as pgCustomType, timestamp } from "drizzle-orm/pg-core";
import { customType as sqliteCustomType } from "drizzle-orm/sqlite-core";
import { customType as mysqlCustomType } from "drizzle-orm/mysql-core";
import { decodeStored } from "../codec/stored.js";
import { JSON_FORMAT } from "../codec/value-format.js";
import { CorruptValueError } from "../errors.js";
import { fromNaiveUtc, toNaiveUtc } from "./naive-utc.js";
import { pgTables as buildPgTables } from "./pg/schema.js";
import { sqliteTables as buildSqliteTables } from "./sqlite/schema.js";
import { mysqlTables as buildMysqlTables } from "./mysql/schema.js";
import { resolveTables } from "./tables.js";

/** Which tables to describe: the names and schemas given to openBackend(). */
export interface DrizzleTableOptions {
  /** As openBackend's `tableNames` (default celery_taskmeta / celery_tasksetmeta). */
  tableNames?: { task?: string; group?: string };
  /** As openBackend's `tableSchemas` (PostgreSQL only). */
  tableSchemas?: { task?: string | null; group?: string | null };
}

/**
 * A stored value, decoded: JSON as taskledger writes it, or Celery's pickle. Failures read as
 * Celery's exception dict ({ exc_type, exc_message, exc_module }). A value that cannot be decoded
 * reads as a CorruptValueError in its place, so one bad row never fails a whole query. Written
 * values are encoded as JSON.
 */
function decodeValue(bytes: Buffer): unknown {
  try {
    return decodeStored(bytes, "(drizzle query)", "value");
  } catch (error) {
    if (error instanceof CorruptValueError) return error;
    throw error;
  }
}

const pgValue = pgCustomType<{ data: unknown; driverData: Buffer }>({
  dataType: () => "bytea",
  fromDriver: decodeValue,
  toDriver: (value) => JSON_FORMAT.result(value)!,
});

const sqliteValue = sqliteCustomType<{ data: unknown; driverData: Buffer }>({
  dataType: () => "BLOB",
  fromDriver: decodeValue,
  toDriver: (value) => JSON_FORMAT.result(value)!,
});

const mysqlValue = mysqlCustomType<{ data: unknown; driverData: Buffer }>({
  dataType: () => "longblob",
  fromDriver: decodeValue,
  toDriver: (value) => JSON_FORMAT.result(value)!,
});

/**
 * DATETIME(6) in naive UTC as a Date. Read as text or as a Date: a pool without dateStrings makes
 * a Date in its `timezone` (local by default), and its UTC fields are then the wrong ones, so the
 * pool must use `dateStrings: true` or `timezone: "Z"` (the README says so).
 */
const mysqlUtc = mysqlCustomType<{ data: Date; driverData: string | Date }>({
  dataType: () => "datetime(6)",
  fromDriver: (value) => (value instanceof Date ? value : fromNaiveUtc(value)!),
  toDriver: (date) => toNaiveUtc(date),
});

/** DATETIME text 'YYYY-MM-DD HH:MM:SS.ffffff' in naive UTC (SQLAlchemy's form), as a Date. */
const sqliteUtc = sqliteCustomType<{ data: Date; driverData: string }>({
  dataType: () => "DATETIME",
  fromDriver: (text) => fromNaiveUtc(text)!,
  toDriver: (date) => toNaiveUtc(date),
});

function names(options: DrizzleTableOptions, dialect: "postgresql" | "sqlite" | "mysql") {
  // Validated as openBackend validates them, so a bad name fails here and not in a query.
  return resolveTables(dialect, {
    ...(options.tableNames?.task ? { task: options.tableNames.task } : {}),
    ...(options.tableNames?.group ? { group: options.tableNames.group } : {}),
    taskSchema: options.tableSchemas?.task ?? null,
    groupSchema: options.tableSchemas?.group ?? null,
  }).config;
}

/**
 * taskledger's PostgreSQL tables as drizzle tables: `task` (Celery's celery_taskmeta) and
 * `taskSet` (celery_tasksetmeta), for joins in the application's own queries. Time columns are
 * naive UTC timestamps read as Dates.
 */
export function pgTables(options: DrizzleTableOptions = {}) {
  return buildPgTables(names(options, "postgresql"), {
    value: (name) => pgValue(name),
    time: (name) => timestamp(name, { mode: "date" }),
  });
}

/**
 * taskledger's MySQL/MariaDB tables as drizzle tables (see pgTables); a schema is a database here.
 * On a table Celery created the value columns are BLOB, not LONGBLOB: reads are the same.
 */
export function mysqlTables(options: DrizzleTableOptions = {}) {
  return buildMysqlTables(names(options, "mysql"), { value: (name) => mysqlValue(name), time: (name) => mysqlUtc(name) });
}

/** taskledger's SQLite tables as drizzle tables (see pgTables). */
export function sqliteTables(options: DrizzleTableOptions = {}) {
  return buildSqliteTables(names(options, "sqlite"), { value: (name) => sqliteValue(name), time: (name) => sqliteUtc(name) });
}

/**
 * drizzle-kit `tablesFilter` entries that keep an application's drizzle-kit (push, pull,
 * introspect) away from taskledger's tables: the task and group tables, tables named after the
 * task table (its history and archive), and taskledger's own bookkeeping tables.
 */
export function drizzleKitTablesFilter(options: DrizzleTableOptions = {}): string[] {
  const { task, group } = names(options, "postgresql");
  return [`!${task}`, `!${task}_*`, `!${group}`, "!taskledger_*"];
}
