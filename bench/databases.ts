/**
 * The run's own databases: fresh PostgreSQL databases named tl_bench_<run>_<label> on the server
 * of TASKLEDGER_BENCH_PG_URL (default TASKLEDGER_TEST_PG_URL, then the test server), and fresh
 * SQLite files in one temp directory. Everything made here is dropped by dropAll(), also when a
 * scenario fails or the run is interrupted.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const PG_ADMIN_URL =
  process.env["TASKLEDGER_BENCH_PG_URL"] ?? process.env["TASKLEDGER_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

const runId = randomBytes(3).toString("hex");
const pgNames = new Set<string>();
let sqliteDir: string | undefined;

async function admin<T = unknown>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function pgAdminQuery<T = unknown>(text: string, values: unknown[] = []): Promise<T[]> {
  return admin<T>(text, values);
}

export interface PgDatabase {
  name: string;
  /** postgres://… for taskledger and the raw driver. */
  url: string;
  /** db+postgresql://… for Celery (SQLAlchemy with psycopg2). */
  celeryUrl: string;
}

function describe(name: string): PgDatabase {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const celery = new URL(url.toString());
  return {
    name,
    url: url.toString(),
    celeryUrl: `db+postgresql://${celery.username ? `${celery.username}${celery.password ? `:${celery.password}` : ""}@` : ""}${celery.host}/${name}`,
  };
}

/** A new empty database. */
export async function createPg(label: string): Promise<PgDatabase> {
  const name = `tl_bench_${runId}_${label}`;
  await admin(`CREATE DATABASE ${name}`);
  pgNames.add(name);
  return describe(name);
}

/**
 * A byte-for-byte copy of `template` (no one may be connected to it). FILE_COPY copies the
 * files instead of writing every page through the WAL, which is much faster for big tables.
 */
export async function copyPg(template: PgDatabase, label: string): Promise<PgDatabase> {
  const name = `tl_bench_${runId}_${label}`;
  await admin(`CREATE DATABASE ${name} TEMPLATE ${template.name} STRATEGY FILE_COPY`);
  pgNames.add(name);
  return describe(name);
}

export async function dropPg(db: PgDatabase): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
  pgNames.delete(db.name);
}

export interface SqliteDatabase {
  file: string;
  /** The taskledger URL (a plain path). */
  url: string;
  /** db+sqlite:////abs/path for Celery. */
  celeryUrl: string;
}

function sqliteDescribe(file: string): SqliteDatabase {
  return { file, url: file, celeryUrl: `db+sqlite:///${file}` };
}

/** A path for a new SQLite file (created by whoever opens it first). */
export function createSqlite(label: string): SqliteDatabase {
  sqliteDir ??= mkdtempSync(join(tmpdir(), `taskledger-bench-${runId}-`));
  return sqliteDescribe(join(sqliteDir, `${label}.db`));
}

/** A copy of a closed, checkpointed SQLite file. */
export function copySqlite(template: SqliteDatabase, label: string): SqliteDatabase {
  const copy = createSqlite(label);
  copyFileSync(template.file, copy.file);
  return copy;
}

export function dropSqlite(db: SqliteDatabase): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${db.file}${suffix}`, { force: true });
}

/** Drops every database this run created. */
export async function dropAll(): Promise<void> {
  for (const name of [...pgNames]) {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((error: unknown) =>
      process.stderr.write(`could not drop ${name}: ${String(error)}\n`),
    );
    pgNames.delete(name);
  }
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  sqliteDir = undefined;
}
