/**
 * MySQL and MariaDB models: Celery's tables with the types that cannot cut a value (LONGBLOB and
 * LONGTEXT where SQLAlchemy makes BLOB and TEXT of 64 KiB; DATETIME(6) where it makes whole
 * seconds), ids that compare byte for byte (utf8mb4_bin, as on PostgreSQL; the database default
 * utf8mb4_general_ci takes "abc" and "ABC" for one id), plus taskledger's own tables. drizzle-kit
 * generates migrations/mysql from the exports below; `mysqlTables()` builds the same tables for
 * configured names, which `taskledger/drizzle` exports.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  datetime,
  foreignKey,
  index,
  int,
  longtext,
  mysqlSchema,
  mysqlTable,
  primaryKey,
  text,
  varchar,
  type MySqlColumnBuilderBase,
} from "drizzle-orm/mysql-core";

/** LONGBLOB: up to 4 GiB, so a result never meets the 64 KiB BLOB that Celery's PickleType makes here. */
const longblob = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "longblob" });
/** An id column: compared byte for byte, 155 characters as in Celery (620 bytes, inside InnoDB's key limit). */
const idColumn = customType<{ data: string }>({ dataType: () => "varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" });
/** Naive UTC with microseconds, read as text (the pool's dateStrings). */
const utcTime = (name: string) => datetime(name, { mode: "string", fsp: 6 });

/** Names to build the tables for; a schema is a database on MySQL. */
export interface MysqlTableNames {
  task: string;
  group: string;
  taskSchema: string | null;
  groupSchema: string | null;
}

/** Column builders for the value and time columns; taskledger/drizzle passes decoding ones of the same SQL types. */
export interface MysqlValueColumns<V, B> {
  value: (name: string) => V;
  time: (name: string) => B;
}

const rawColumns = { value: (name: string) => longblob(name), time: utcTime };

/**
 * Celery's two tables. Ids come from Celery's sequences, as on MariaDB Celery (SQLAlchemy 1.4+)
 * draws them with NEXTVAL in its own INSERTs: an AUTO_INCREMENT column would hand out the same ids.
 */
export function mysqlTables<V extends MySqlColumnBuilderBase, B extends MySqlColumnBuilderBase>(
  names: MysqlTableNames,
  columns: MysqlValueColumns<V, B>,
) {
  const tableIn = (schema: string | null) => (schema ? mysqlSchema(schema).table : mysqlTable) as typeof mysqlTable;
  const sequence = (schema: string | null, name: string) => (schema ? `\`${schema}\`.\`${name}\`` : `\`${name}\``);
  const task = tableIn(names.taskSchema)(
    names.task,
    {
      id: int("id")
        .primaryKey()
        .default(sql.raw(`(NEXTVAL(${sequence(names.taskSchema, "task_id_sequence")}))`)),
      taskId: idColumn("task_id").unique(`${names.task}_task_id_key`),
      status: varchar("status", { length: 50 }),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
      traceback: longtext("traceback"),
      name: varchar("name", { length: 155 }),
      args: columns.value("args"),
      kwargs: columns.value("kwargs"),
      worker: varchar("worker", { length: 155 }),
      retries: int("retries"),
      queue: varchar("queue", { length: 155 }),
      children: columns.value("children"),
      parentId: idColumn("parent_id"),
      groupId: idColumn("group_id"),
      dateUpdated: columns.time("date_updated"),
    },
    (t) => [
      index(`ix_${names.task}_date_done`).on(t.dateDone),
      // No partial indexes here: (date_done, date_updated) serves "date_done IS NULL AND
      // date_updated < ?" as one range, which is how stale unready rows are found.
      index(`ix_${names.task}_unready_date_updated`).on(t.dateDone, t.dateUpdated),
      index(`ix_${names.task}_status_id`).on(t.status, t.id),
      index(`ix_${names.task}_name_id`).on(t.name, t.id),
      index(`ix_${names.task}_worker_id`).on(t.worker, t.id),
      index(`ix_${names.task}_queue_id`).on(t.queue, t.id),
      index(`ix_${names.task}_group_id_id`).on(t.groupId, t.id),
    ],
  );
  const taskSet = tableIn(names.groupSchema)(
    names.group,
    {
      id: int("id")
        .primaryKey()
        .default(sql.raw(`(NEXTVAL(${sequence(names.groupSchema, "taskset_id_sequence")}))`)),
      tasksetId: idColumn("taskset_id").unique(`${names.group}_taskset_id_key`),
      result: columns.value("result"),
      dateDone: columns.time("date_done"),
    },
    (t) => [index(`ix_${names.group}_date_done`).on(t.dateDone)],
  );
  return { task, taskSet };
}

const celery = mysqlTables({ task: "celery_taskmeta", group: "celery_tasksetmeta", taskSchema: null, groupSchema: null }, rawColumns);

/** Task and TaskExtended: one table, `celery_taskmeta`. */
export const task = celery.task;

/** TaskSet: saved groups, `celery_tasksetmeta`. */
export const taskSet = celery.taskSet;

/** One row per change of a task's state, appended by triggers (see migrations/mysql), as ../pg/schema.ts. */
export const taskHistory = mysqlTable(
  "celery_taskmeta_history",
  {
    id: bigint("id", { mode: "number" }).primaryKey().autoincrement(),
    taskId: idColumn("task_id"),
    status: varchar("status", { length: 50 }),
    date: utcTime("date"),
    worker: varchar("worker", { length: 155 }),
    retries: int("retries"),
    queue: varchar("queue", { length: 155 }),
    result: longblob("result"),
    traceback: longtext("traceback"),
  },
  (t) => [index("ix_celery_taskmeta_history_task_id").on(t.taskId, t.id)],
);

/** Legal holds, as in ../pg/schema.ts. */
export const taskHold = mysqlTable("celery_taskmeta_hold", {
  taskId: idColumn("task_id").primaryKey(),
  heldAt: utcTime("held_at").notNull(),
  reason: text("reason"),
});

/**
 * The ids waiters and status streams wait for: the change triggers record a change only for these, so commits nobody
 * waits for pay one primary-key probe and nothing more. Entries of a crashed waiter age out by `since`.
 */
export const taskInterest = mysqlTable(
  "celery_taskmeta_interest",
  {
    taskId: idColumn("task_id").notNull(),
    listener: varchar("listener", { length: 64 }).notNull(),
    since: utcTime("since").notNull(),
  },
  (t) => [primaryKey({ columns: [t.taskId, t.listener] })],
);

/**
 * Changes of state of watched ids, by any writer, appended by the change triggers: MySQL has no
 * LISTEN/NOTIFY, so each process's poller reads this by id (`WHERE id > ?`, a primary-key range).
 * Rows older than a minute are deleted by the pollers.
 */
export const taskChanges = mysqlTable(
  "celery_taskmeta_changes",
  {
    id: bigint("id", { mode: "number" }).primaryKey().autoincrement(),
    taskId: idColumn("task_id").notNull(),
    at: utcTime("at").notNull(),
  },
  (t) => [index("ix_celery_taskmeta_changes_at").on(t.at)],
);

/**
 * Webhooks, as in ../pg/schema.ts: `name_pattern` is a LIKE pattern matched byte for byte
 * (utf8mb4_bin) by the outbox triggers, since MySQL's LIKE ignores case under the default collations.
 */
export const webhook = mysqlTable(
  "celery_taskmeta_webhook",
  {
    id: int("id").primaryKey().autoincrement(),
    url: text("url").notNull(),
    match: text("match").notNull().default(""),
    taskId: idColumn("task_id"),
    namePattern: text("name_pattern"),
    secret: text("secret").notNull(),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
  },
  (t) => [index("ix_celery_taskmeta_webhook_task_id").on(t.taskId)],
);

/**
 * The webhook outbox, as in ../pg/schema.ts, filled by migrations/mysql/0006_webhooks.sql's
 * triggers. MySQL has no partial indexes: (next_attempt_at, id) and dead_at index every row. The
 * foreign key is named short: drizzle's name for it passes MySQL's 64 characters.
 */
export const webhookOutbox = mysqlTable(
  "celery_taskmeta_webhook_outbox",
  {
    id: bigint("id", { mode: "number" }).primaryKey().autoincrement(),
    webhookId: int("webhook_id").notNull(),
    taskId: idColumn("task_id").notNull(),
    status: varchar("status", { length: 50 }).notNull(),
    dateDone: utcTime("date_done"),
    createdAt: bigint("created_at", { mode: "number" }).notNull(),
    attempts: int("attempts").notNull().default(0),
    nextAttemptAt: bigint("next_attempt_at", { mode: "number" }).notNull().default(0),
    claimedUntil: bigint("claimed_until", { mode: "number" }),
    lastError: text("last_error"),
    deadAt: bigint("dead_at", { mode: "number" }),
  },
  (t) => [
    foreignKey({ name: "fk_celery_taskmeta_webhook_outbox_webhook", columns: [t.webhookId], foreignColumns: [webhook.id] }).onDelete(
      "cascade",
    ),
    index("ix_celery_taskmeta_webhook_outbox_due").on(t.nextAttemptAt, t.id),
    index("ix_celery_taskmeta_webhook_outbox_dead").on(t.deadAt),
    index("ix_celery_taskmeta_webhook_outbox_webhook_id").on(t.webhookId),
  ],
);
