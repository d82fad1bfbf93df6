/**
 * Fills result tables fast with server-side SQL (PostgreSQL: INSERT … SELECT over
 * generate_series; SQLite: a recursive CTE), never through the library one row at a time. Rows
 * are in the exact form taskledger writes them: status SUCCESS, result as JSON bytes (the bytes
 * taskledger itself wrote for the same value), date_done naive UTC (timestamp on PostgreSQL, text
 * 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite), date_updated = date_done, every other column NULL.
 * Task ids are random UUIDs, as real ids are. Celery's tables get the same rows minus the columns
 * Celery lacks.
 *
 * The data shape: `expired` rows first (ids ascending with date_done, as a table written over
 * time is), date_done spread evenly from 10 days to 2 days ago, then `live` rows from 20 hours
 * to 1 hour ago. With result_expires = 1 day (Celery's default and taskledger's) exactly the
 * expired rows go; with expires = 9.2 days the oldest tenth of them.
 *
 * Indexes are dropped before the insert and rebuilt after it (with their exact definitions), the
 * fast way to load a table; SQLite's autoindex on Celery's UNIQUE (task_id) cannot be dropped and
 * is filled as rows arrive.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { openBackend } from "../src/index.js";

export type TableKind = "taskledger" | "celery";

export interface Shape {
  live: number;
  expired: number;
}

const DAY_MS = 86_400_000;
/** The value every filled row holds. */
export const FILL_VALUE = { rows: 42, ok: true };
let fillBytes: Buffer | undefined;

/** FILL_VALUE's bytes exactly as taskledger stores them: written through the public API once, read back raw. */
async function fillResult(): Promise<Buffer> {
  if (fillBytes) return fillBytes;
  const dir = mkdtempSync(join(tmpdir(), "taskledger-bench-codec-"));
  try {
    const file = join(dir, "codec.db");
    const backend = await openBackend({ url: file });
    await backend.markAsDone("codec", FILL_VALUE);
    await backend.close();
    const db = new Database(file, { readonly: true });
    fillBytes = db.prepare("SELECT result FROM celery_taskmeta WHERE task_id = 'codec'").pluck().get() as Buffer;
    db.close();
    return fillBytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
/** Expired rows span 10 to 2 days ago; this `expires` catches the oldest tenth of them. */
export const EXPIRES_TENTH_MS = 9.2 * DAY_MS;
export const EXPIRES_ALL_MS = DAY_MS;

function naive(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** Rows of `shape` into celery_taskmeta of the PostgreSQL database at `url`. */
export async function fillPg(url: string, kind: TableKind, shape: Shape, now = new Date()): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET maintenance_work_mem = '512MB'");
    const indexes = (
      await client.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'celery_taskmeta'",
      )
    ).rows;
    const constraints = (
      await client.query<{ conname: string; def: string }>(
        "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'celery_taskmeta'::regclass AND contype IN ('p', 'u')",
      )
    ).rows;
    const plainIndexes = indexes.filter((i) => !constraints.some((c) => c.conname === i.indexname));
    for (const c of constraints) await client.query(`ALTER TABLE celery_taskmeta DROP CONSTRAINT ${c.conname}`);
    for (const i of plainIndexes) await client.query(`DROP INDEX ${i.indexname}`);

    const dateUpdated = kind === "taskledger" ? ", date_updated" : "";
    await client.query(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done${dateUpdated})
       SELECT nextval('task_id_sequence'), gen_random_uuid()::text, 'SUCCESS', $1::bytea, d${dateUpdated ? ", d" : ""}
       FROM generate_series(0, $2::int + $3::int - 1) AS g(i),
       LATERAL (SELECT CASE WHEN i < $2::int
         THEN $4::timestamp - interval '10 days' + (i * (8 * 86400.0 / greatest($2::int, 1))) * interval '1 second'
         ELSE $4::timestamp - interval '20 hours' + ((i - $2::int) * (19 * 3600.0 / greatest($3::int, 1))) * interval '1 second'
       END AS d) AS x`,
      [await fillResult(), shape.expired, shape.live, naive(now)],
    );
    for (const c of constraints) await client.query(`ALTER TABLE celery_taskmeta ADD CONSTRAINT ${c.conname} ${c.def}`);
    for (const i of plainIndexes) await client.query(i.indexdef);
    // What a long-lived table under autovacuum looks like; and no checkpoint debt for the next scenario.
    await client.query("VACUUM ANALYZE celery_taskmeta");
    await client.query("CHECKPOINT");
  } finally {
    await client.end();
  }
}

/** Rows of `shape` into celery_taskmeta of the SQLite file (closed and checkpointed after). */
export async function fillSqlite(file: string, kind: TableKind, shape: Shape, now = new Date()): Promise<void> {
  const result = await fillResult();
  const db = new Database(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF"); // this connection only: the load is redone if it fails
    db.pragma("cache_size = -1000000");
    const indexes = db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'celery_taskmeta' AND sql IS NOT NULL")
      .all() as { name: string; sql: string }[];
    for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
    const dateUpdated = kind === "taskledger" ? ", date_updated" : "";
    const hex = (bytes: number) => `lower(hex(randomblob(${bytes})))`;
    const uuid = `${hex(4)} || '-' || ${hex(2)} || '-4' || substr(${hex(2)}, 2) || '-a' || substr(${hex(2)}, 2) || '-' || ${hex(6)}`;
    db.prepare(
      `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < @total - 1)
       INSERT INTO celery_taskmeta (task_id, status, result, date_done${dateUpdated})
       SELECT ${uuid}, 'SUCCESS', @result, d${dateUpdated ? ", d" : ""}
       FROM (SELECT i, strftime('%Y-%m-%d %H:%M:%f', CASE WHEN i < @expired
               THEN @now - 10 + i * (8.0 / max(@expired, 1))
               ELSE @now - 20.0 / 24 + (i - @expired) * (19.0 / 24 / max(@live, 1)) END) || '000' AS d
             FROM s)`,
    ).run({ total: shape.expired + shape.live, expired: shape.expired, live: shape.live, result, now: now.getTime() / DAY_MS + 2440587.5 });
    for (const i of indexes) db.exec(i.sql);
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

/**
 * `rows` finished rows (ids 1..rows, done 20 days ago a millisecond apart) inserted into a
 * migrated PostgreSQL task table as one INSERT, so the history trigger, when history is kept,
 * writes one history row each: the archive benches' starting point for moves and deletions.
 */
export async function fillFinishedPg(url: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
      SELECT g, md5(g::text)::uuid::text, 'SUCCESS', '\\x7b7d'::bytea, now()::timestamp - interval '20 days' + g * interval '1 ms', now()::timestamp
      FROM generate_series(1, $1::int) AS g`,
      [rows],
    );
    await client.query("SELECT setval('task_id_sequence', $1)", [rows + 1]);
    await client.query("VACUUM ANALYZE");
  } finally {
    await client.end();
  }
}
