/**
 * Cleanup of 1% of a 1M-row task table on MariaDB/MySQL while a writer stores in a loop: the
 * writer's longest stall (the longest time between two consecutive successful stores while the
 * cleanup ran) and the cleanup's rate. The writer (bench/children/store-loop.ts, markAsDone, one
 * connection) and the cleanup (bench/children/cleanup.ts, backend.cleanup()) run in processes of
 * their own, as in bench/scenarios/cleanup.ts for PostgreSQL. Before each cleanup the same writer
 * runs alone for as long, so the machine's own stalls (shared cores, fsync) are on the page beside it.
 *
 *   node --import tsx bench/mysql-cleanup.ts [mysql://root@127.0.0.1:3306/test] [--rows 1000000] [--rounds 2] [--no-history] [--batch N]
 *
 * History is on by default (as a new database has it): the fill then writes a history row per
 * task too, and every deleted task deletes its history by trigger. --no-history switches it off first.
 */
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { openBackend } from "../src/index.js";
import { NodeChild } from "./child.js";
import { EXPIRES_ALL_MS } from "./fill.js";
import type { DbHandle } from "./fixtures.js";
import { fmt, fmtAuto, numberArg, out, sleep } from "./lib.js";
import { taskledgerCleanup } from "./scenarios/cleanup.js";

const base =
  process.argv.slice(2).find((a) => a.startsWith("mysql://")) ??
  process.env["TASKLEDGER_TEST_MYSQL_URL"] ??
  "mysql://root@127.0.0.1:3306/test";
const ROWS = numberArg("rows", 1_000_000);
const ROUNDS = numberArg("rounds", 2);
const HISTORY = !process.argv.includes("--no-history");
/** A fixed batch size instead of the adaptive default (5,000 first, then sized to 500 ms a batch). */
const BATCH = numberArg("batch", Number.NaN);
const admin = await mysql.createConnection(base);
const name = `tl_cleanup_${randomBytes(4).toString("hex")}`;
await admin.query(`CREATE DATABASE \`${name}\``);
const url = new URL(base);
url.pathname = `/${name}`;

interface WriterSummary {
  stores: number;
  maxGapMs: number;
  p50GapMs: number;
  p99GapMs: number;
  errors: number;
}

/** Every 100th row finished three days ago (past EXPIRES_ALL_MS), the rest within the last hour. */
async function fill(db: mysql.Connection): Promise<number> {
  const started = performance.now();
  await db.query("DELETE FROM celery_taskmeta");
  // MariaDB's SEQUENCE engine (seq_1_to_N) makes the rows server-side: one INSERT … SELECT per 100k.
  for (let from = 1; from <= ROWS; from += 100_000) {
    const to = Math.min(ROWS, from + 99_999);
    await db.query(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
        SELECT seq, CONCAT('fill-', seq), 'SUCCESS', '{"n": 1}',
          IF(seq % 100 = 0, UTC_TIMESTAMP(6) - INTERVAL 3 DAY, UTC_TIMESTAMP(6) - INTERVAL (seq % 3600) SECOND),
          IF(seq % 100 = 0, UTC_TIMESTAMP(6) - INTERVAL 3 DAY, UTC_TIMESTAMP(6) - INTERVAL (seq % 3600) SECOND)
        FROM seq_${from}_to_${to}`,
    );
  }
  await db.query(`SELECT SETVAL(task_id_sequence, ${ROWS + 1})`);
  await db.query("ANALYZE TABLE celery_taskmeta");
  return performance.now() - started;
}

try {
  const backend = await openBackend({ url: url.toString() });
  if (!HISTORY) await backend.setHistory(false);
  await backend.close();
  const db = await mysql.createConnection(url.toString());
  out.print(
    `# taskledger cleanup on MariaDB: 1% of ${fmt(ROWS)} rows expired, a writer storing throughout, history ${HISTORY ? "on" : "off"}, ${Number.isNaN(BATCH) ? "adaptive batches" : `batches of ${fmt(BATCH)}`}\n`,
  );
  out.print(
    "| round | writer alone: longest stall (p99, p50) | during cleanup: writer's longest stall (p99, p50) | stores | rows deleted | cleanup | rate |",
  );
  out.print("|---|---|---|---|---|---|---|");
  const stalls: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const filled = await fill(db);
    out.progress(`round ${r}: filled ${fmt(ROWS)} rows in ${fmt(filled / 1000, 1)} s`);
    const writer = new NodeChild("store-loop.ts", [url.toString()]);
    try {
      if ((await writer.next()) !== "ready") throw new Error("the writer did not start");
      // The writer alone, as long as a cleanup took last time (or 3 s), for the machine's own stalls.
      await sleep(300);
      writer.send("mark");
      await sleep(3_000);
      writer.send("stop");
      const alone = await writer.nextJson<WriterSummary>();
      await writer.close();
      const during = new NodeChild("store-loop.ts", [url.toString()]);
      try {
        if ((await during.next()) !== "ready") throw new Error("the writer did not start");
        const result = await taskledgerCleanup(
          { url: url.toString() } as DbHandle,
          EXPIRES_ALL_MS,
          {
            start: async () => {
              await sleep(300);
              during.send("mark");
            },
          },
          Number.isNaN(BATCH) ? {} : { batchSize: BATCH },
        );
        during.send("stop");
        const w = await during.nextJson<WriterSummary>();
        stalls.push(w.maxGapMs);
        out.print(
          `| ${r} | ${fmtAuto(alone.maxGapMs)} ms (${fmtAuto(alone.p99GapMs)}, ${fmtAuto(alone.p50GapMs)}) | ${fmtAuto(w.maxGapMs)} ms (${fmtAuto(w.p99GapMs)}, ${fmtAuto(w.p50GapMs)}) | ${fmt(w.stores)}${w.errors ? `, ${w.errors} failed` : ""} | ${fmt(result.deleted)} | ${fmtAuto(result.ms / 1000)} s, ${fmt(result.batches)} batches, longest ${fmtAuto(result.maxBatchMs)} ms | ${fmt((result.deleted * 1000) / result.ms)} rows/s |`,
        );
      } finally {
        await during.close();
      }
    } finally {
      await writer.close();
    }
  }
  const worst = Math.max(...stalls);
  out.print(`\nTarget: writer's longest stall <= 50 ms: ${fmtAuto(worst)} ms in the worst round, ${worst <= 50 ? "met" : "**missed**"}.`);
  await db.end();
} finally {
  await admin.query(`DROP DATABASE \`${name}\``);
  await admin.end();
}
