/**
 * Applies migrations/pg under a session advisory lock. drizzle's own migrator takes no lock, and
 * ten workers starting on a fresh database race on CREATE SEQUENCE/TABLE (Celery #4653 is the
 * same race in SQLAlchemy's create_all); with the lock the first applies and the rest find
 * nothing to do.
 */
import type { PgConnection, PgSession } from "./borrowed-pool.js";
import { MigrationError } from "../../errors.js";
import type { MigrationStatus } from "../driver.js";
import { createdTable, planAdoption, type ExistingSchema } from "../adopt.js";
import { pendingOf, readMigrations } from "../migrations.js";
import type { Tables } from "../tables.js";

export const MIGRATE_LOCK_KEY = "taskledger.migrate";

export async function migratePg(pool: PgConnection, tables: Tables, options: { apply: boolean }): Promise<MigrationStatus> {
  const all = readMigrations("postgresql");
  const client = await pool.dedicated();
  try {
    // One lock for the database, not per record: two table sets in one schema share Celery's
    // sequences, and CREATE SEQUENCE IF NOT EXISTS races when run at once.
    const lockKey = MIGRATE_LOCK_KEY;
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [lockKey]);
    try {
      const applied = await readApplied(client, tables, options.apply);
      const pending = pendingOf(all, applied);
      if (!options.apply) {
        // One at a time: all on one client, and pg queues a query sent while another runs only
        // with a DeprecationWarning on stderr (an error from pg 9).
        const planned: string[] = [];
        for (const migration of pending) planned.push(...(await plan(client, tables, migration.statements)));
        return { applied: [...applied], pending: pending.map((m) => m.tag), planned };
      }
      const ran: string[] = [];
      for (const migration of pending) {
        await client.query("BEGIN");
        try {
          for (const statement of await plan(client, tables, migration.statements)) {
            await client.query(statement);
            ran.push(statement);
          }
          await client.query(`INSERT INTO ${tables.migrations} (tag, hash, created_at) VALUES ($1, $2, $3)`, [
            migration.tag,
            migration.hash,
            migration.createdAt,
          ]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw new MigrationError(`migration ${migration.tag} failed on PostgreSQL: ${(error as Error).message}`, { cause: error });
        }
      }
      return { applied: [...applied, ...pending.map((m) => m.tag)], pending: [], planned: ran };
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [lockKey]);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A migration's statements for this database: Celery's existing tables are adopted, not re-created. */
async function plan(client: PgSession, tables: Tables, statements: readonly string[]): Promise<string[]> {
  const rewritten = statements.map((s) => tables.rewriteMigration(s));
  const existing: ExistingSchema = { columns: new Map() };
  for (const table of rewritten.map(createdTable)) {
    if (table === undefined) continue;
    const rows = await client.query<{ name: string }>(
      "SELECT attname AS name FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
      [table],
    );
    if (rows.rows.length > 0) existing.columns.set(table, new Set(rows.rows.map((r) => r.name)));
  }
  return planAdoption(rewritten, existing);
}

async function readApplied(client: PgSession, tables: Tables, create: boolean): Promise<Set<string>> {
  if (create) {
    // Celery expects the schemas to exist; creating them here saves a manual step.
    for (const schema of new Set([tables.config.taskSchema, tables.config.groupSchema])) {
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS ${tables.migrations} (
      id serial PRIMARY KEY, tag text NOT NULL UNIQUE, hash text NOT NULL, created_at bigint, applied_at timestamptz NOT NULL DEFAULT now())`);
  } else {
    const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [tables.migrations]);
    if (!exists.rows[0].present) return new Set();
  }
  const rows = await client.query<{ tag: string }>(`SELECT tag FROM ${tables.migrations} ORDER BY id`);
  return new Set(rows.rows.map((r) => r.tag));
}
