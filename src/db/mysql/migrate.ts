/**
 * Applies migrations/mysql under a named lock on a connection of its own, so of several processes
 * starting on a fresh database one applies and the others find nothing to do. MySQL's DDL commits
 * statement by statement (there is no transactional DDL), so every statement is written to be
 * run again (IF NOT EXISTS, or adopted): a migration cut short is finished by the next run, and
 * only a finished one is recorded.
 */
import type mysql from "mysql2/promise";
import { MigrationError } from "../../errors.js";
import type { MigrationStatus } from "../driver.js";
import type { MysqlPoolLike } from "../external.js";
import { createdTable, planAdoption, type ExistingSchema } from "../adopt.js";
import { pendingOf, readMigrations } from "../migrations.js";
import type { Tables } from "../tables.js";
import { lockName, takeNamedLock } from "./lock.js";

/** The id columns of taskledger's tables, as the migrations declare them. */
const BINARY_IDS = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";

export async function migrateMysql(pool: MysqlPoolLike, tables: Tables, options: { apply: boolean }): Promise<MigrationStatus> {
  const all = readMigrations("mysql");
  const held = await takeNamedLock(pool, await lockName(pool, tables, "migrate"), true);
  const { connection, lock } = held!;
  try {
    const applied = await readApplied(connection, tables, options.apply);
    const pending = pendingOf(all, applied);
    if (!options.apply) {
      const planned: string[] = [];
      for (const migration of pending) planned.push(...(await plan(connection, tables, migration.statements)));
      return { applied: [...applied], pending: pending.map((m) => m.tag), planned };
    }
    const historyOff = await historySwitchedOff(connection, tables);
    const ran: string[] = [];
    for (const migration of pending) {
      try {
        for (const statement of await plan(connection, tables, migration.statements)) {
          await connection.query(statement);
          ran.push(statement);
        }
      } catch (error) {
        throw new MigrationError(
          `migration ${migration.tag} failed on MySQL: ${(error as Error).message}; fix the cause and run \`taskledger migrate\` again (each statement can run again)`,
          { cause: error },
        );
      }
      await connection.query(`INSERT INTO ${tables.migrations} (tag, hash, created_at) VALUES (?, ?, ?)`, [
        migration.tag,
        migration.hash,
        migration.createdAt,
      ]);
    }
    // A migration that re-creates a history trigger (0005) must not switch history back on where
    // `migrate --no-history` (or history: false) switched it off.
    if (historyOff && pending.length > 0) {
      const schema = tables.config.taskSchema ? `${tables.quote(tables.config.taskSchema, "tableSchemas.task")}.` : "";
      for (const name of tables.historyTriggers)
        await connection.query(`DROP TRIGGER IF EXISTS ${schema}${tables.quote(name, "tableNames.task")}`);
    }
    return { applied: [...applied, ...pending.map((m) => m.tag)], pending: [], planned: ran };
  } finally {
    await lock.release();
  }
}

/**
 * A migration's statements for this database. Celery's existing tables are adopted (the columns
 * they lack added, nothing altered), and taskledger's own tables take the task table's id
 * collation: comparing ids of two collations fails (ER_CANT_AGGREGATE_2COLLATIONS), and Celery's
 * tables are utf8mb4_general_ci.
 */
async function plan(connection: mysql.Connection, tables: Tables, statements: readonly string[]): Promise<string[]> {
  const rewritten = statements.map((s) => tables.rewriteMigration(s).replace(/;\s*$/, ""));
  const existing: ExistingSchema = { columns: new Map() };
  for (const table of rewritten.map(createdTable)) {
    if (table === undefined) continue;
    const [schema, name] = splitName(table);
    const [rows] = (await connection.query(
      "SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
      [schema, name],
    )) as unknown as [{ name: string }[]];
    if (rows.length > 0) existing.columns.set(table, new Set(rows.map((r) => r.name)));
  }
  const collation = await taskIdCollation(connection, tables);
  const adopted =
    collation && collation.collation !== "utf8mb4_bin" ? `CHARACTER SET ${collation.charset} COLLATE ${collation.collation}` : undefined;
  return planAdoption(rewritten, existing).map((s) => {
    const safe = s
      .replace(/^CREATE TABLE (?!IF NOT EXISTS)/i, "CREATE TABLE IF NOT EXISTS ")
      .replace(/^((?:--[^\n]*\n\s*)*)CREATE TRIGGER (?!IF NOT EXISTS)/i, "$1CREATE TRIGGER IF NOT EXISTS ")
      // MariaDB's form (MySQL 8 has none): a foreign key added by a run cut short is not added twice.
      .replace(/^(ALTER TABLE \S+ ADD CONSTRAINT \S+ FOREIGN KEY )(?!IF NOT EXISTS)/i, "$1IF NOT EXISTS ");
    return adopted ? safe.replaceAll(BINARY_IDS, adopted) : safe;
  });
}

/** The character set and collation of the existing task table's task_id, if the table exists. */
async function taskIdCollation(connection: mysql.Connection, tables: Tables): Promise<{ charset: string; collation: string } | undefined> {
  const [rows] = (await connection.query(
    `SELECT CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME = 'task_id'`,
    [tables.config.taskSchema, tables.config.task],
  )) as unknown as [{ charset: string | null; collation: string | null }[]];
  const row = rows[0];
  // Names from the catalog, spliced into DDL: only plain ones.
  if (!row?.charset || !row.collation || !/^\w+$/.test(row.charset) || !/^\w+$/.test(row.collation)) return undefined;
  return { charset: row.charset, collation: row.collation };
}

/** History was switched off: its table is there, and none of its triggers. */
async function historySwitchedOff(connection: mysql.Connection, tables: Tables): Promise<boolean> {
  const [rows] = (await connection.query(
    `SELECT (SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?) AS history,
      (SELECT count(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = COALESCE(?, DATABASE()) AND TRIGGER_NAME IN (?)) AS triggers`,
    [tables.config.taskSchema, `${tables.config.task}_history`, tables.config.taskSchema, [...tables.historyTriggers]],
  )) as unknown as [{ history: number; triggers: number }[]];
  return Number(rows[0]?.history) > 0 && Number(rows[0]?.triggers) === 0;
}

/** `db`.`name` or `name` → [db or null, name]. */
function splitName(quoted: string): [string | null, string] {
  const parts = quoted.split(".").map((p) => p.replace(/`/g, ""));
  return parts.length === 2 ? [parts[0]!, parts[1]!] : [null, parts[0]!];
}

async function readApplied(connection: mysql.Connection, tables: Tables, create: boolean): Promise<Set<string>> {
  if (create) {
    // Celery expects the database (its "schema") to exist; creating it here saves a manual step.
    for (const schema of new Set([tables.config.taskSchema, tables.config.groupSchema]))
      if (schema) await connection.query(`CREATE DATABASE IF NOT EXISTS ${tables.quote(schema, "tableSchemas")}`);
    await connection.query(`CREATE TABLE IF NOT EXISTS ${tables.migrations} (
      id int AUTO_INCREMENT PRIMARY KEY, tag varchar(255) NOT NULL UNIQUE, hash varchar(64) NOT NULL, created_at bigint,
      applied_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`);
  } else {
    const [present] = (await connection.query(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
      [tables.config.taskSchema, tables.migrationsName],
    )) as unknown as [unknown[]];
    if (present.length === 0) return new Set();
  }
  const [rows] = (await connection.query(`SELECT tag FROM ${tables.migrations} ORDER BY id`)) as unknown as [{ tag: string }[]];
  return new Set(rows.map((r) => r.tag));
}

/** taskledger's types for the columns a Celery table may have narrower. */
const WIDE: Record<string, { type: string; wide: (dataType: string, columnType: string) => boolean }> = {
  result: { type: "LONGBLOB", wide: (t) => t === "longblob" },
  args: { type: "LONGBLOB", wide: (t) => t === "longblob" },
  kwargs: { type: "LONGBLOB", wide: (t) => t === "longblob" },
  children: { type: "LONGBLOB", wide: (t) => t === "longblob" },
  traceback: { type: "LONGTEXT", wide: (t) => t === "longtext" },
  date_done: { type: "DATETIME(6)", wide: (_, c) => c === "datetime(6)" },
};

/**
 * `migrate --widen`: the value columns of Celery's tables become LONGBLOB and LONGTEXT (BLOB and
 * TEXT hold 64 KiB), date_done DATETIME(6) (whole seconds otherwise). Celery reads them the same.
 * One ALTER per table (a table copy on a large table: run it in a quiet hour), under the migration lock.
 */
export async function widenMysql(pool: MysqlPoolLike, tables: Tables): Promise<string[]> {
  const held = await takeNamedLock(pool, await lockName(pool, tables, "migrate"), true);
  const { connection, lock } = held!;
  try {
    const ran: string[] = [];
    for (const [table, schema, name, columns] of [
      [tables.task, tables.config.taskSchema, tables.config.task, ["result", "args", "kwargs", "children", "traceback", "date_done"]],
      [tables.group, tables.config.groupSchema, tables.config.group, ["result", "date_done"]],
    ] as const) {
      const [rows] = (await connection.query(
        `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND COLUMN_NAME IN (?)`,
        [schema, name, [...columns]],
      )) as unknown as [{ name: string; dataType: string; columnType: string }[]];
      const narrow = rows.filter((r) => !WIDE[r.name]!.wide(r.dataType.toLowerCase(), r.columnType.toLowerCase()));
      if (narrow.length === 0) continue;
      // The columns are Celery's nullable ones, so MODIFY without NOT NULL keeps them as they were.
      const statement = `ALTER TABLE ${table} ${narrow.map((r) => `MODIFY ${tables.quote(r.name, "column")} ${WIDE[r.name]!.type}`).join(", ")}`;
      await connection.query(statement);
      ran.push(statement);
    }
    return ran;
  } finally {
    await lock.release();
  }
}
