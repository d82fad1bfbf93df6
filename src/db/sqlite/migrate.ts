/**
 * Applies migrations/sqlite inside one BEGIN IMMEDIATE transaction: the write lock is the
 * migration lock, so of several processes opening a fresh file one applies and the others wait
 * (busy timeout, then the backend's retry) and find nothing left to do. drizzle's own SQLite
 * migrator opens its transaction only after reading what is applied, which races.
 */
import type Database from "better-sqlite3";
import { MigrationError } from "../../errors.js";
import type { MigrationStatus } from "../driver.js";
import { createdTable, planAdoption, type ExistingSchema } from "../adopt.js";
import { pendingOf, readMigrations } from "../migrations.js";
import { quoteIdentifier, type Tables } from "../tables.js";
import { isTransientSqliteError } from "./errors.js";

export function migrateSqlite(db: Database.Database, tables: Tables, options: { apply: boolean }): MigrationStatus {
  const all = readMigrations("sqlite");
  if (!options.apply) {
    const present = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(tables.migrationsName);
    const applied = present ? readApplied(db, tables) : new Set<string>();
    const pending = pendingOf(all, applied);
    return { applied: [...applied], pending: pending.map((m) => m.tag), planned: pending.flatMap((m) => plan(db, tables, m.statements)) };
  }
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS ${tables.migrations} (
      id INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, created_at INTEGER, applied_at TEXT NOT NULL DEFAULT (datetime('now')))`);
    const applied = readApplied(db, tables);
    const pending = pendingOf(all, applied);
    const historyOff = historySwitchedOff(db, tables);
    const record = db.prepare(`INSERT INTO ${tables.migrations} (tag, hash, created_at) VALUES (?, ?, ?)`);
    const ran: string[] = [];
    for (const migration of pending) {
      try {
        for (const statement of plan(db, tables, migration.statements)) {
          db.exec(statement);
          ran.push(statement);
        }
      } catch (error) {
        throw new MigrationError(`migration ${migration.tag} failed on SQLite: ${(error as Error).message}`, { cause: error });
      }
      record.run(migration.tag, migration.hash, migration.createdAt);
    }
    // A migration that re-creates a history trigger (0005) must not switch history back on where
    // `migrate --no-history` (or history: false) switched it off: SQLite has no conditional DDL.
    if (historyOff)
      for (const name of tables.historyTriggers) db.exec(`DROP TRIGGER IF EXISTS ${quoteIdentifier(name, "tableNames.task")}`);
    db.exec("COMMIT");
    return { applied: [...applied, ...pending.map((m) => m.tag)], pending: [], planned: ran };
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    if (isTransientSqliteError(error)) throw error; // the caller's retry waits for the other migrator
    throw error instanceof MigrationError
      ? error
      : new MigrationError(`migrating the SQLite database failed: ${(error as Error).message}`, { cause: error });
  }
}

/** A migration's statements for this file: Celery's existing tables are adopted, not re-created. */
function plan(db: Database.Database, tables: Tables, statements: readonly string[]): string[] {
  const rewritten = statements.map((s) => tables.rewriteMigration(s));
  const existing: ExistingSchema = { columns: new Map() };
  const columnsOf = db.prepare("SELECT name FROM pragma_table_info(?)").pluck();
  for (const table of rewritten.map(createdTable)) {
    if (table === undefined) continue;
    const names = columnsOf.all(table.replace(/[`"]/g, "")) as string[];
    if (names.length > 0) existing.columns.set(table, new Set(names));
  }
  return planAdoption(rewritten, existing);
}

function readApplied(db: Database.Database, tables: Tables): Set<string> {
  const rows = db.prepare(`SELECT tag FROM ${tables.migrations} ORDER BY id`).all() as { tag: string }[];
  return new Set(rows.map((r) => r.tag));
}

/** History was switched off: its table is there, and none of its triggers. */
function historySwitchedOff(db: Database.Database, tables: Tables): boolean {
  const count = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = ? AND name = ?").pluck();
  if (count.get("table", `${tables.config.task}_history`) === 0) return false;
  return tables.historyTriggers.every((name) => count.get("trigger", name) === 0);
}
