/**
 * SQLite models, mirroring ../pg/schema.ts with the type names SQLAlchemy gives Celery's tables
 * on SQLite (VARCHAR(n), BLOB, DATETIME) so the DDL reads the same. drizzle-kit generates
 * migrations/sqlite from the exports below; `sqliteTables()` builds the same tables for
 * configured names, which `taskledger/drizzle` exports.
 */
import { sql } from "drizzle-orm";
import { customType, index, integer, sqliteTable, text, type SQLiteColumnBuilderBase } from "drizzle-orm/sqlite-core";

const varchar = (name: string, length: number) => customType<{ data: string }>({ dataType: () => `VARCHAR(${length})` })(name);
const blob = customType<{ data: Buffer }>({ dataType: () => "BLOB" });
// SQLAlchemy stores DateTime on SQLite as TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); so do we,
// which keeps text comparison in date order and lets Celery share the file.
const datetime = customType<{ data: string }>({ dataType: () => "DATETIME" });

/** Names to build the tables for (Celery's `database_table_names`; SQLite has no schemas). */
export interface SqliteTableNames {
  task: string;
  group: string;
}

/**
 * Column builders for the value and time columns. The defaults are what the migrations declare
 * (BLOB, DATETIME text); taskledger/drizzle passes decoding ones of the same SQL types.
 */
export interface SqliteValueColumns<V, B> {
  value: (name: string) => V;
  time: (name: string) => B;
}

const rawColumns = { value: (name: string) => blob(name), time: (name: string) => datetime(name) };

/** Celery's two tables for the given names, with the given value/time column builders. */
export function sqliteTables<V extends SQLiteColumnBuilderBase, B extends SQLiteColumnBuilderBase>(
  names: SqliteTableNames,
  columns: SqliteValueColumns<V, B>,
) {
  const task = sqliteTable(
    names.task,
    {
      id: integer("id").primaryKey({ autoIncrement: true }),
      taskId: varchar("task_id", 155).unique(`${names.task}_task_id_key`),
      status: varchar("status", 50),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
      traceback: text("traceback"),
      name: varchar("name", 155),
      args: columns.value("args"),
      kwargs: columns.value("kwargs"),
      worker: varchar("worker", 155),
      retries: integer("retries"),
      queue: varchar("queue", 155),
      children: columns.value("children"),
      parentId: varchar("parent_id", 155),
      groupId: varchar("group_id", 155),
      dateUpdated: columns.time("date_updated"),
    },
    (t) => [
      index(`ix_${names.task}_date_done`).on(t.dateDone),
      index(`ix_${names.task}_unready_date_updated`)
        .on(t.dateUpdated)
        .where(sql`date_done IS NULL`),
      // The web view's filters, newest first; see ../pg/schema.ts. Id prefixes use the
      // unique task_id index through a range (see the driver's auditFragments).
      index(`ix_${names.task}_status_id`).on(t.status, t.id),
      index(`ix_${names.task}_name_id`).on(t.name, t.id),
      index(`ix_${names.task}_worker_id`).on(t.worker, t.id),
      index(`ix_${names.task}_queue_id`).on(t.queue, t.id),
      index(`ix_${names.task}_group_id_id`).on(t.groupId, t.id),
    ],
  );
  const taskSet = sqliteTable(
    names.group,
    {
      id: integer("id").primaryKey({ autoIncrement: true }),
      tasksetId: varchar("taskset_id", 155).unique(`${names.group}_taskset_id_key`),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
    },
    (t) => [index(`ix_${names.group}_date_done`).on(t.dateDone)],
  );
  return { task, taskSet };
}

const celery = sqliteTables({ task: "celery_taskmeta", group: "celery_tasksetmeta" }, rawColumns);

/** Task and TaskExtended: one table, `celery_taskmeta`. */
export const task = celery.task;

/** TaskSet: saved groups, `celery_tasksetmeta`. */
export const taskSet = celery.taskSet;

/**
 * One row per change of a task's state, appended by triggers; see ../pg/schema.ts. The id is
 * the rowid without AUTOINCREMENT: new rows still get ids above every existing one, and there is
 * no sqlite_sequence write per history row.
 */
export const taskHistory = sqliteTable(
  "celery_taskmeta_history",
  {
    id: integer("id").primaryKey(),
    taskId: varchar("task_id", 155),
    status: varchar("status", 50),
    date: datetime("date"),
    worker: varchar("worker", 155),
    retries: integer("retries"),
    queue: varchar("queue", 155),
    result: blob("result"),
    traceback: text("traceback"),
  },
  (t) => [index("ix_celery_taskmeta_history_task_id").on(t.taskId, t.id)],
);

/**
 * Cleanup's lock on SQLite, which has no advisory locks: one lease row per lock name, taken with
 * an atomic upsert and renewed while held, so a crashed holder's lease simply runs out.
 * Not a Celery table; Celery never reads it.
 */
export const lock = sqliteTable("taskledger_lock", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** Legal holds, as in ../pg/schema.ts. */
export const taskHold = sqliteTable("celery_taskmeta_hold", {
  taskId: varchar("task_id", 155).primaryKey(),
  heldAt: datetime("held_at").notNull(),
  reason: text("reason"),
});

/** Webhooks, as in ../pg/schema.ts; `name_pattern` is a GLOB pattern here (case-sensitive, like PostgreSQL's LIKE). */
export const webhook = sqliteTable(
  "celery_taskmeta_webhook",
  {
    id: integer("id").primaryKey(),
    url: text("url").notNull(),
    match: text("match").notNull().default(""),
    taskId: varchar("task_id", 155),
    namePattern: text("name_pattern"),
    secret: text("secret").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("ix_celery_taskmeta_webhook_task_id").on(t.taskId)],
);

/** The webhook outbox, as in ../pg/schema.ts, filled by migrations/sqlite/0006_webhooks.sql's triggers. */
export const webhookOutbox = sqliteTable(
  "celery_taskmeta_webhook_outbox",
  {
    id: integer("id").primaryKey(),
    webhookId: integer("webhook_id")
      .notNull()
      .references(() => webhook.id, { onDelete: "cascade" }),
    taskId: varchar("task_id", 155).notNull(),
    status: varchar("status", 50).notNull(),
    dateDone: datetime("date_done"),
    createdAt: integer("created_at").notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull().default(0),
    claimedUntil: integer("claimed_until"),
    lastError: text("last_error"),
    deadAt: integer("dead_at"),
  },
  (t) => [
    index("ix_celery_taskmeta_webhook_outbox_due")
      .on(t.nextAttemptAt, t.id)
      .where(sql`dead_at IS NULL`),
    index("ix_celery_taskmeta_webhook_outbox_dead")
      .on(t.deadAt)
      .where(sql`dead_at IS NOT NULL`),
    index("ix_celery_taskmeta_webhook_outbox_webhook_id").on(t.webhookId),
  ],
);
