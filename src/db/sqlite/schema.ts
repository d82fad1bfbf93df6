/**
 * SQLite models, mirroring ../pg/schema.ts with the type names SQLAlchemy gives Celery's tables
 * on SQLite (VARCHAR(n), BLOB, DATETIME) so the DDL reads the same. drizzle-kit generates
 * migrations/sqlite from this file.
 */
import { sql } from "drizzle-orm";
import { customType, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

const varchar = (name: string, length: number) => customType<{ data: string }>({ dataType: () => `VARCHAR(${length})` })(name);
const blob = customType<{ data: Buffer }>({ dataType: () => "BLOB" });
// SQLAlchemy stores DateTime on SQLite as TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC); so do we,
// which keeps text comparison in date order and lets Celery share the file.
const datetime = customType<{ data: string }>({ dataType: () => "DATETIME" });

/** Task and TaskExtended: one table, `celery_taskmeta`. */
export const task = sqliteTable(
  "celery_taskmeta",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    taskId: varchar("task_id", 155).unique("celery_taskmeta_task_id_key"),
    status: varchar("status", 50),
    result: blob("result"),
    dateDone: datetime("date_done"),
    traceback: text("traceback"),
    name: varchar("name", 155),
    args: blob("args"),
    kwargs: blob("kwargs"),
    worker: varchar("worker", 155),
    retries: integer("retries"),
    queue: varchar("queue", 155),
    children: blob("children"),
    parentId: varchar("parent_id", 155),
    groupId: varchar("group_id", 155),
    dateUpdated: datetime("date_updated"),
  },
  (t) => [
    index("ix_celery_taskmeta_date_done").on(t.dateDone),
    index("ix_celery_taskmeta_unready_date_updated").on(t.dateUpdated).where(sql`date_done IS NULL`),
  ],
);

/** TaskSet: saved groups, `celery_tasksetmeta`. */
export const taskSet = sqliteTable(
  "celery_tasksetmeta",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tasksetId: varchar("taskset_id", 155).unique("celery_tasksetmeta_taskset_id_key"),
    result: blob("result"),
    dateDone: datetime("date_done"),
  },
  (t) => [index("ix_celery_tasksetmeta_date_done").on(t.dateDone)],
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

/** Legal holds (#12), as in ../pg/schema.ts. */
export const taskHold = sqliteTable("celery_taskmeta_hold", {
  taskId: varchar("task_id", 155).primaryKey(),
  heldAt: datetime("held_at").notNull(),
  reason: text("reason"),
});
