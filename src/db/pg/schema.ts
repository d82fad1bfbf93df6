/**
 * PostgreSQL models: Celery's tables, column for column (celery/backends/database/models.py),
 * plus the nullable columns and indexes taskledger adds. drizzle-kit generates migrations/pg
 * from this file.
 */
import { sql } from "drizzle-orm";
import { customType, index, integer, pgSequence, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";

/** drizzle's pg-core has no bytea; Celery's PickleType and LargeBinary are bytea on PostgreSQL. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

// Celery draws ids from standalone sequences and writes nextval(...) into each INSERT itself;
// the column DEFAULT is taskledger's addition, so hand-written INSERTs work too.
export const taskIdSequence = pgSequence("task_id_sequence", { startWith: 1, increment: 1, minValue: 1, cache: 1 });
export const taskSetIdSequence = pgSequence("taskset_id_sequence", { startWith: 1, increment: 1, minValue: 1, cache: 1 });

/** Task and TaskExtended: one table, `celery_taskmeta`. */
export const task = pgTable(
  "celery_taskmeta",
  {
    id: integer("id").primaryKey().default(sql`nextval('task_id_sequence')`),
    taskId: varchar("task_id", { length: 155 }).unique("celery_taskmeta_task_id_key"),
    status: varchar("status", { length: 50 }),
    result: bytea("result"),
    // Naive UTC, as Celery writes it; NULL while the task is not ready.
    dateDone: timestamp("date_done", { mode: "string" }),
    traceback: text("traceback"),
    name: varchar("name", { length: 155 }),
    args: bytea("args"),
    kwargs: bytea("kwargs"),
    worker: varchar("worker", { length: 155 }),
    retries: integer("retries"),
    queue: varchar("queue", { length: 155 }),
    // taskledger's additions: nullable, ignored by Celery.
    children: bytea("children"),
    parentId: varchar("parent_id", { length: 155 }),
    groupId: varchar("group_id", { length: 155 }),
    // When taskledger last wrote the row (naive UTC): how stale unready rows are aged.
    dateUpdated: timestamp("date_updated", { mode: "string" }),
  },
  (t) => [
    index("ix_celery_taskmeta_date_done").on(t.dateDone),
    // Only unready rows (date_done NULL) are aged by date_updated, so the index stays small.
    index("ix_celery_taskmeta_unready_date_updated").on(t.dateUpdated).where(sql`date_done IS NULL`),
  ],
);

/** TaskSet: saved groups, `celery_tasksetmeta`. */
export const taskSet = pgTable(
  "celery_tasksetmeta",
  {
    id: integer("id").primaryKey().default(sql`nextval('taskset_id_sequence')`),
    tasksetId: varchar("taskset_id", { length: 155 }).unique("celery_tasksetmeta_taskset_id_key"),
    result: bytea("result"),
    dateDone: timestamp("date_done", { mode: "string" }),
  },
  (t) => [index("ix_celery_tasksetmeta_date_done").on(t.dateDone)],
);

/**
 * Legal holds (#12): a held task's row survives every retention rule until released. Named after
 * the task table (`<task table>_hold`); not a Celery table, Celery never reads it. A hold may name
 * an id with no row yet, so a hold can be placed before the task runs.
 */
export const taskHold = pgTable("celery_taskmeta_hold", {
  taskId: varchar("task_id", { length: 155 }).primaryKey(),
  heldAt: timestamp("held_at", { mode: "string" }).notNull(),
  reason: text("reason"),
});
