/**
 * PostgreSQL models: Celery's tables, column for column (celery/backends/database/models.py),
 * plus the nullable columns and indexes taskledger adds. drizzle-kit generates migrations/pg
 * from the exports below (built for Celery's names); `pgTables()` builds the same tables for
 * configured names and schema, which `taskledger/drizzle` exports for applications' own
 * queries, with decoding column types swapped in.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  foreignKey,
  customType,
  index,
  type PgColumnBuilderBase,
  integer,
  pgSchema,
  pgSequence,
  pgTable,
  text,
  timestamp,
  varchar,
} from "drizzle-orm/pg-core";

/** drizzle's pg-core has no bytea; Celery's PickleType and LargeBinary are bytea on PostgreSQL. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

// Celery draws ids from standalone sequences and writes nextval(...) into each INSERT itself;
// the column DEFAULT is taskledger's addition, so hand-written INSERTs work too.
export const taskIdSequence = pgSequence("task_id_sequence", { startWith: 1, increment: 1, minValue: 1, cache: 1 });
export const taskSetIdSequence = pgSequence("taskset_id_sequence", { startWith: 1, increment: 1, minValue: 1, cache: 1 });

/** Names to build the tables for (Celery's `database_table_names` / `database_table_schemas`). */
export interface PgTableNames {
  task: string;
  group: string;
  taskSchema: string | null;
  groupSchema: string | null;
}

/**
 * Column builders for the value and time columns. The defaults are what the migrations declare
 * (bytea, naive timestamp read as text); taskledger/drizzle passes decoding ones of the same
 * SQL types.
 */
export interface PgValueColumns<V, B> {
  value: (name: string) => V;
  time: (name: string) => B;
}

const rawColumns = {
  value: (name: string) => bytea(name),
  // Naive UTC, as Celery writes it; NULL while the task is not ready.
  time: (name: string) => timestamp(name, { mode: "string" }),
};

/** Celery's two tables for the given names, with the given value/time column builders. */
export function pgTables<V extends PgColumnBuilderBase, B extends PgColumnBuilderBase>(names: PgTableNames, columns: PgValueColumns<V, B>) {
  const tableIn = (schema: string | null) => (schema ? pgSchema(schema).table : pgTable) as typeof pgTable;
  const sequence = (schema: string | null, name: string) => (schema ? `"${schema}".${name}` : name);
  const task = tableIn(names.taskSchema)(
    names.task,
    {
      id: integer("id")
        .primaryKey()
        .default(sql.raw(`nextval('${sequence(names.taskSchema, "task_id_sequence")}')`)),
      taskId: varchar("task_id", { length: 155 }).unique(`${names.task}_task_id_key`),
      status: varchar("status", { length: 50 }),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
      traceback: text("traceback"),
      name: varchar("name", { length: 155 }),
      args: columns.value("args"),
      kwargs: columns.value("kwargs"),
      worker: varchar("worker", { length: 155 }),
      retries: integer("retries"),
      queue: varchar("queue", { length: 155 }),
      // taskledger's additions: nullable, ignored by Celery.
      children: columns.value("children"),
      parentId: varchar("parent_id", { length: 155 }),
      groupId: varchar("group_id", { length: 155 }),
      // When taskledger last wrote the row (naive UTC): how stale unready rows are aged.
      dateUpdated: columns.time("date_updated"),
    },
    (t) => [
      index(`ix_${names.task}_date_done`).on(t.dateDone),
      // Only unready rows (date_done NULL) are aged by date_updated, so the index stays small.
      index(`ix_${names.task}_unready_date_updated`)
        .on(t.dateUpdated)
        .where(sql`date_done IS NULL`),
      // The web view's filters, newest first: one (column, id) index per single filter keeps a
      // keyset page an index range scan at any table size. Their cost per store is in BENCHMARKS.md.
      index(`ix_${names.task}_status_id`).on(t.status, t.id),
      index(`ix_${names.task}_name_id`).on(t.name, t.id),
      index(`ix_${names.task}_worker_id`).on(t.worker, t.id),
      index(`ix_${names.task}_queue_id`).on(t.queue, t.id),
      index(`ix_${names.task}_group_id_id`).on(t.groupId, t.id),
      // Id-prefix search: LIKE 'abc%' uses a pattern_ops index whatever the database collation.
      index(`ix_${names.task}_task_id_pattern`).on(t.taskId.op("varchar_pattern_ops")),
    ],
  );
  const taskSet = tableIn(names.groupSchema)(
    names.group,
    {
      id: integer("id")
        .primaryKey()
        .default(sql.raw(`nextval('${sequence(names.groupSchema, "taskset_id_sequence")}')`)),
      tasksetId: varchar("taskset_id", { length: 155 }).unique(`${names.group}_taskset_id_key`),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
    },
    (t) => [index(`ix_${names.group}_date_done`).on(t.dateDone)],
  );
  return { task, taskSet };
}

const celery = pgTables({ task: "celery_taskmeta", group: "celery_tasksetmeta", taskSchema: null, groupSchema: null }, rawColumns);

/** Task and TaskExtended: one table, `celery_taskmeta`. */
export const task = celery.task;

/** TaskSet: saved groups, `celery_tasksetmeta`. */
export const taskSet = celery.taskSet;

/**
 * One row per change of a task's state, appended by triggers on the task table
 * (migrations/pg/0002_history.sql) so every writer's changes are kept, Celery's too. `result` and
 * `traceback` hold the stored exception of FAILURE and RETRY rows only; `date` is when the change
 * happened (naive UTC). Rows go with their task (a DELETE trigger), and the insert and update
 * triggers can be switched off (`history: false`, `taskledger migrate --no-history`).
 */
export const taskHistory = pgTable(
  "celery_taskmeta_history",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    taskId: varchar("task_id", { length: 155 }),
    status: varchar("status", { length: 50 }),
    date: timestamp("date", { mode: "string" }),
    worker: varchar("worker", { length: 155 }),
    retries: integer("retries"),
    queue: varchar("queue", { length: 155 }),
    result: bytea("result"),
    traceback: text("traceback"),
  },
  (t) => [index("ix_celery_taskmeta_history_task_id").on(t.taskId, t.id)],
);

/**
 * Legal holds: a held task's row survives every retention rule until released. Named after
 * the task table (`<task table>_hold`); not a Celery table, Celery never reads it. A hold may name
 * an id with no row yet, so a hold can be placed before the task runs.
 */
export const taskHold = pgTable("celery_taskmeta_hold", {
  taskId: varchar("task_id", { length: 155 }).primaryKey(),
  heldAt: timestamp("held_at", { mode: "string" }).notNull(),
  reason: text("reason"),
});

/**
 * Webhooks (`<task table>_webhook`): where to POST a task's ready state, for one task
 * (`task_id`), for task names matching a pattern (`name_pattern`, compiled per dialect from the
 * user's glob, kept as given in `match`), or for every task (both NULL). Not a Celery table.
 */
export const webhook = pgTable(
  "celery_taskmeta_webhook",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    url: text("url").notNull(),
    match: text("match").notNull().default(""),
    taskId: varchar("task_id", { length: 155 }),
    namePattern: text("name_pattern"),
    secret: text("secret").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
  },
  (t) => [index("ix_celery_taskmeta_webhook_task_id").on(t.taskId)],
);

/**
 * The webhook outbox: one row per (webhook, ready state), written by triggers on the task table
 * (migrations/pg/0006_webhooks.sql) for every writer, deleted once delivered. Times are epoch
 * milliseconds; `next_attempt_at` 0 means due now, `dead_at` set means given up (a dead letter).
 */
export const webhookOutbox = pgTable(
  "celery_taskmeta_webhook_outbox",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    webhookId: integer("webhook_id").notNull(),
    taskId: varchar("task_id", { length: 155 }).notNull(),
    status: varchar("status", { length: 50 }).notNull(),
    dateDone: timestamp("date_done", { mode: "string" }),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: bigint("next_attempt_at", { mode: "number" }).notNull().default(0),
    claimedUntil: bigint("claimed_until", { mode: "number" }),
    lastError: text("last_error"),
    deadAt: bigint("dead_at", { mode: "number" }),
  },
  (t) => [
    // Named short: drizzle's own name for it (71 characters) passes PostgreSQL's 63 and cannot be renamed with the table.
    foreignKey({ name: "fk_celery_taskmeta_webhook_outbox_webhook", columns: [t.webhookId], foreignColumns: [webhook.id] }).onDelete(
      "cascade",
    ),
    index("ix_celery_taskmeta_webhook_outbox_due")
      .on(t.nextAttemptAt, t.id)
      .where(sql`dead_at IS NULL`),
    index("ix_celery_taskmeta_webhook_outbox_dead")
      .on(t.deadAt)
      .where(sql`dead_at IS NOT NULL`),
    index("ix_celery_taskmeta_webhook_outbox_webhook_id").on(t.webhookId),
  ],
);
