/** Celery 5.2's columns as `create_all` makes them (research/celery-ddl.md), in table order. */
export const CELERY_TASK_COLUMNS = [
  { name: "id", pg: "integer", sqlite: "INTEGER", length: null, nullable: "NO" },
  { name: "task_id", pg: "character varying", sqlite: "VARCHAR(155)", length: 155, nullable: "YES" },
  { name: "status", pg: "character varying", sqlite: "VARCHAR(50)", length: 50, nullable: "YES" },
  { name: "result", pg: "bytea", sqlite: "BLOB", length: null, nullable: "YES" },
  { name: "date_done", pg: "timestamp without time zone", sqlite: "DATETIME", length: null, nullable: "YES" },
  { name: "traceback", pg: "text", sqlite: "TEXT", length: null, nullable: "YES" },
  { name: "name", pg: "character varying", sqlite: "VARCHAR(155)", length: 155, nullable: "YES" },
  { name: "args", pg: "bytea", sqlite: "BLOB", length: null, nullable: "YES" },
  { name: "kwargs", pg: "bytea", sqlite: "BLOB", length: null, nullable: "YES" },
  { name: "worker", pg: "character varying", sqlite: "VARCHAR(155)", length: 155, nullable: "YES" },
  { name: "retries", pg: "integer", sqlite: "INTEGER", length: null, nullable: "YES" },
  { name: "queue", pg: "character varying", sqlite: "VARCHAR(155)", length: 155, nullable: "YES" },
];

export const CELERY_TASKSET_COLUMNS = [
  { name: "id", pg: "integer", sqlite: "INTEGER", length: null, nullable: "NO" },
  { name: "taskset_id", pg: "character varying", sqlite: "VARCHAR(155)", length: 155, nullable: "YES" },
  { name: "result", pg: "bytea", sqlite: "BLOB", length: null, nullable: "YES" },
  { name: "date_done", pg: "timestamp without time zone", sqlite: "DATETIME", length: null, nullable: "YES" },
];

/** What taskledger adds to celery_taskmeta, all nullable. */
export const TASKLEDGER_TASK_COLUMNS = ["children", "parent_id", "group_id", "date_updated"];
