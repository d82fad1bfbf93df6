/**
 * Single store (one upsert) and single read (one row by id), one caller, taskledger against the
 * raw driver running a hand-written equivalent statement, interleaved, on both dialects.
 * Usage: tsx bench/store-read.ts [--quick]
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { openBackend, type DatabaseBackend } from "../src/index.js";
import { freshPg, freshSqlite, interleave, row, timed } from "./lib.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const OPS = quick ? 500 : 2000;
const payload = { n: 1, payload: "x".repeat(100) };

// The floor: what a careful hand-written store does (upsert with the precedence guard), no NOTIFY.
const PG_UPSERT = `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
  VALUES (nextval('task_id_sequence'), $1, $2, $3, $4, $4)
  ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, result = EXCLUDED.result, date_done = EXCLUDED.date_done, date_updated = EXCLUDED.date_updated
  WHERE celery_taskmeta.status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') OR EXCLUDED.status IN ('SUCCESS', 'FAILURE', 'REVOKED')`;
const PG_READ = "SELECT task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue FROM celery_taskmeta WHERE task_id = $1";
const SQLITE_UPSERT = PG_UPSERT.replace("nextval('task_id_sequence'), ", "").replace("(id, task_id", "(task_id").replace(/\$(\d)/g, "@p$1").replace(/EXCLUDED/g, "excluded");
const SQLITE_READ = PG_READ.replace("$1", "?");

function naiveNow(): string {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

async function benchDialect(label: string, url: string, raw: { store: (id: string) => Promise<unknown>; read: (id: string) => Promise<unknown>; close: () => Promise<void> }) {
  const backend: DatabaseBackend = await openBackend({ url, poolSize: 1 });
  const readIds: string[] = [];
  for (let i = 0; i < OPS; i++) {
    const id = randomUUID();
    readIds.push(id);
    await backend.markAsDone(id, payload);
  }
  const store = await interleave(ROUNDS, [
    { name: "raw", round: () => timed(OPS, async () => { for (let i = 0; i < OPS; i++) await raw.store(randomUUID()); }) },
    { name: "taskledger", round: () => timed(OPS, async () => { for (let i = 0; i < OPS; i++) await backend.markAsDone(randomUUID(), payload); }) },
  ]);
  const read = await interleave(ROUNDS, [
    { name: "raw", round: () => timed(OPS, async () => { for (const id of readIds) await raw.read(id); }) },
    { name: "taskledger", round: () => timed(OPS, async () => { for (const id of readIds) await backend.getTaskMeta(id); }) },
  ]);
  console.log(`\n### ${label}: single store and single read, one connection, ${OPS} ops x ${ROUNDS} rounds\n`);
  console.log("| scenario | median | min–max | ratio to raw |\n|---|---|---|---|");
  console.log(row("store: raw driver upsert", store.get("raw")!));
  console.log(row("store: taskledger markAsDone", store.get("taskledger")!, store.get("raw")));
  console.log(row("read: raw driver SELECT by id", read.get("raw")!));
  console.log(row("read: taskledger getTaskMeta", read.get("taskledger")!, read.get("raw")));
  await backend.close();
  await raw.close();
}

const body = Buffer.from(JSON.stringify(payload));

const pgDb = await freshPg("store_read");
try {
  await (await openBackend({ url: pgDb.url })).close();
  const client = new pg.Client({ connectionString: pgDb.url });
  await client.connect();
  await benchDialect("PostgreSQL", pgDb.url, {
    store: (id) => client.query({ name: "raw_store", text: PG_UPSERT, values: [id, "SUCCESS", body, naiveNow()] }),
    read: (id) => client.query({ name: "raw_read", text: PG_READ, values: [id] }),
    close: () => client.end(),
  });
} finally {
  await pgDb.drop();
}

const sqlite = freshSqlite("store_read");
try {
  await (await openBackend({ url: sqlite.url })).close();
  const db = new Database(sqlite.file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  const store = db.prepare(SQLITE_UPSERT);
  const read = db.prepare(SQLITE_READ);
  await benchDialect("SQLite (WAL, synchronous=NORMAL)", sqlite.url, {
    store: async (id) => store.run({ p1: id, p2: "SUCCESS", p3: body, p4: naiveNow() }),
    read: async (id) => read.get(id),
    close: async () => db.close(),
  });
} finally {
  await sqlite.drop();
}
