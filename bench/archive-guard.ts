/**
 * What the precedence guard across tiers costs a store, once the archive exists: the store
 * statement as it was (it never looked in the archive, so a late STARTED after an archived SUCCESS
 * made a new hot row) against the one that judges a write with no hot row by the latest archived
 * row (taskStoreTiers). Both run as named prepared statements on one database whose archive holds
 * ARCHIVED rows over 15 monthly partitions, interleaved rounds, CALLERS concurrent callers:
 *   - new ids (the insert path, which asks the index of archived ids whether to look further);
 *   - updates of hot rows (STARTED then SUCCESS on the same ids; the archive is not read).
 * Then what keeping that index costs a move: MOVE_ROWS finished rows moved into the archive in
 * batches of 50,000, as built and with the index's INSERT taken out of the statement, on two
 * databases filled alike, in alternating order.
 *
 *   npx tsx bench/archive-guard.ts [--archived 200000] [--stores 2000] [--callers 8] [--rounds 6] [--move-rows 300000]
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { openBackend } from "../src/index.js";
import { buildStatements } from "../src/db/pg/statements.js";
import { resolveTables } from "../src/db/tables.js";
import { PgDialect } from "drizzle-orm/pg-core";
import { ensurePartitions, moveToArchive } from "../src/db/pg/archive.js";
import { ClientPool } from "../src/db/pg/client-pool.js";
import { PG_TYPES } from "../src/db/pg/executor.js";
import { PG_FRAGMENTS } from "../src/db/pg/fragments.js";
import { createPg, dropAll, dropPg } from "./databases.js";
import { fillFinishedPg } from "./fill.js";
import { fmt, fmtRatio, interleave, numberArg, summarize } from "./lib.js";

const ARCHIVED = numberArg("archived", 200_000);
const STORES = numberArg("stores", 2_000);
const CALLERS = numberArg("callers", 8);
const ROUNDS = numberArg("rounds", 6);
const MOVE_ROWS = numberArg("move-rows", 300_000);
const MOVE_BATCH = 50_000;

const DAY_MS = 86_400_000;
const tables = resolveTables("postgresql");
const built = buildStatements(tables);
/**
 * The store statement as it was before the guard across tiers: today's plain statement also
 * checks the catalog for an archive (and writes no new hot row once there is one), so the
 * baseline is that statement without the check.
 */
const before = built.taskStore.replace(/ AND to_regclass\('[^']*'\) IS NULL/, "");
if (before === built.taskStore) throw new Error("the plain store statement no longer has the catalog check this bench takes out");
const statements = { taskStore: before, taskStoreTiers: built.taskStoreTiers, taskStoreChecked: built.taskStore };
type Statement = keyof typeof statements;

function values(taskId: string, status: string): unknown[] {
  const now = new Date().toISOString().replace("T", " ").replace("Z", "");
  const done = status === "SUCCESS" ? now : null;
  return [taskId, status, Buffer.from("42"), done, null, null, null, null, null, null, null, null, null, null, now, false, true];
}

async function main(): Promise<void> {
  const db = await createPg("archive_guard");
  try {
    const backend = await openBackend({ url: db.url, resultExpires: null });
    await backend.createArchive();
    // Partitions for the year ahead, as a cleanup with a year's retention keeps them.
    await backend.cleanup({ archiveAfter: "7d", expires: "400d" });
    await backend.close();
    const pool = new pg.Pool({ connectionString: db.url, max: CALLERS });
    await pool.query(
      `INSERT INTO celery_taskmeta_archive (id, task_id, status, result, date_done, expires_at, archived_at)
       SELECT i, md5(i::text), 'SUCCESS', '\\x3432', now() - interval '10 days',
              now() + (i % 390) * interval '1 day', now()
       FROM generate_series(1, $1::int) AS i`,
      [ARCHIVED],
    );
    await pool.query("ANALYZE celery_taskmeta_archive");
    const partitions = (
      await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'celery_taskmeta_archive'::regclass")
    ).rows[0]!.n;

    /** STORES stores by CALLERS callers at once; returns stores per second. */
    const run = async (statement: Statement, kind: "new ids" | "updates"): Promise<number> => {
      const ids = Array.from({ length: STORES }, () => randomUUID());
      const store = (id: string, status: string) =>
        pool.query({ name: `${statement}`, text: statements[statement], values: values(id, status) });
      if (kind === "updates") for (const id of ids) await store(id, "STARTED");
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CALLERS }, async () => {
          while (next < ids.length) await store(ids[next++]!, kind === "updates" ? "SUCCESS" : "STARTED");
        }),
      );
      return (STORES * 1000) / (performance.now() - started);
    };

    console.log(`archive: ${fmt(ARCHIVED)} rows in ${partitions} partitions; ${fmt(STORES)} stores a round, ${CALLERS} callers`);
    for (const kind of ["new ids", "updates"] as const) {
      const results = await interleave(ROUNDS, [
        { name: "before", round: () => run("taskStore", kind) },
        { name: "guard across tiers", round: () => run("taskStoreTiers", kind) },
      ]);
      const before = summarize(results.get("before")!).median;
      const tiers = summarize(results.get("guard across tiers")!).median;
      console.log(`${kind}: before ${fmt(before)} stores/s, guard across tiers ${fmt(tiers)} stores/s: ${fmtRatio(tiers / before)}`);
    }
    await pool.end();
    await withoutArchive();
    await moves();
  } finally {
    await dropAll();
  }
}

/** Without an archive: the plain store statement with its catalog check against without it. */
async function withoutArchive(): Promise<void> {
  const db = await createPg("archive_guard_none");
  const backend = await openBackend({ url: db.url, resultExpires: null });
  await backend.close();
  const pool = new pg.Pool({ connectionString: db.url, max: CALLERS });
  const run = async (statement: Statement): Promise<number> => {
    const ids = Array.from({ length: STORES }, () => randomUUID());
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < ids.length)
          await pool.query({ name: statement, text: statements[statement], values: values(ids[next++]!, "STARTED") });
      }),
    );
    return (STORES * 1000) / (performance.now() - started);
  };
  const results = await interleave(ROUNDS, [
    { name: "before", round: () => run("taskStore") },
    { name: "with the catalog check", round: () => run("taskStoreChecked") },
  ]);
  const plain = summarize(results.get("before")!).median;
  const checked = summarize(results.get("with the catalog check")!).median;
  console.log(
    `no archive, new ids: before ${fmt(plain)} stores/s, with the catalog check ${fmt(checked)} stores/s: ${fmtRatio(checked / plain)}`,
  );
  await pool.end();
  await dropPg(db);
}

/** Rows per second moving MOVE_ROWS rows, with and without the index of archived ids. */
async function moves(): Promise<void> {
  const sides = ["as built", "without the index of archived ids"] as const;
  const rates = new Map<string, number[]>(sides.map((side) => [side, []]));
  for (let round = 0; round < 2; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const db = await createPg(`archive_guard_move_${round}_${side === "as built" ? "a" : "b"}`);
      const backend = await openBackend({ url: db.url, resultExpires: null });
      await backend.createArchive();
      await backend.close();
      await fillFinishedPg(db.url, MOVE_ROWS);
      const pool = new ClientPool({ connectionString: db.url, types: PG_TYPES }, 1);
      const fragments = PG_FRAGMENTS;
      const now = new Date();
      await ensurePartitions(pool, tables, now, new Date(now.getTime() + DAY_MS), true);
      const ranked = [{ label: "default=1d", keepMs: DAY_MS }];
      const query = new PgDialect().sqlToQuery(
        moveToArchive(tables, fragments, { before: new Date(now.getTime() - 7 * DAY_MS), now, limit: MOVE_BATCH, ranked }),
      );
      const params = query.params;
      let text = query.sql;
      if (side !== "as built") {
        const without = text.replace(/indexed AS \(\s*INSERT INTO [^)]*\) SELECT task_id, expires_at FROM filed\s*\), /, "");
        if (without === text) throw new Error("the move statement no longer has the index's INSERT where this bench expects it");
        text = without;
      }
      const started = performance.now();
      let moved = 0;
      for (;;) {
        const n = (await pool.query<{ moved: number }>({ text, values: params })).rows[0]!.moved;
        moved += n;
        if (n < MOVE_BATCH) break;
      }
      rates.get(side)!.push((moved * 1000) / (performance.now() - started));
      await pool.end();
      await dropPg(db);
    }
  }
  const [built, without] = sides.map((side) => summarize(rates.get(side)!).median);
  console.log(
    `moves of ${fmt(MOVE_ROWS)} rows: as built ${fmt(built!)} rows/s, without the index of archived ids ${fmt(without!)} rows/s: ${fmtRatio(built! / without!)}`,
  );
}

await main();
