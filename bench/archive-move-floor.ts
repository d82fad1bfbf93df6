/**
 * Why a move into the archive cannot reach 0.5x of batched deletion on PostgreSQL.
 * In one run, per configuration (history kept or not), batched deletion of N finished rows against
 * moving the same rows into: the archive as migrate --archive makes it; the archive with the
 * indexes it had before 2026-12-02 (a plain btree on task_id, (task_id, id) on the history
 * archive); one left with only its task_id index; and one with no index at all, the history
 * archive's included. Deletion touches no index in PostgreSQL; a move is that delete plus an
 * INSERT, so the last side is the ceiling any archive could reach. Fixed batches (no adaptive
 * sizing) so every side does the same statements.
 *
 *   npx tsx bench/archive-move-floor.ts [--rows 300000] [--batch 50000]
 */
import pg from "pg";
import { openBackend, type DatabaseBackend } from "../src/index.js";
import { createPg, dropAll } from "./databases.js";
import { fillFinishedPg } from "./fill.js";
import { fmt, numberArg } from "./lib.js";

const ROWS = numberArg("rows", 300_000);
const BATCH = numberArg("batch", 50_000);

type Side = "delete" | "move" | "move, indexes before 2026-12-02" | "move, task_id index only" | "move, no index";
const SIDES: readonly Side[] = ["delete", "move", "move, indexes before 2026-12-02", "move, task_id index only", "move, no index"];

/** DDL a side runs on the archive (as archiveDdl names its indexes) before moving. */
const SETUP: Record<Side, string[]> = {
  delete: [],
  move: [],
  "move, indexes before 2026-12-02": [
    "DROP INDEX celery_taskmeta_archive_tid_pattern",
    "CREATE INDEX celery_taskmeta_archive_task_id ON celery_taskmeta_archive (task_id)",
    "DROP INDEX celery_taskmeta_history_archive_hash",
    "CREATE INDEX celery_taskmeta_history_archive_task_id ON celery_taskmeta_history_archive (task_id, id)",
  ],
  "move, task_id index only": ["DROP INDEX celery_taskmeta_archive_id", "DROP INDEX celery_taskmeta_archive_date_done"],
  "move, no index": [
    "DROP INDEX celery_taskmeta_archive_id",
    "DROP INDEX celery_taskmeta_archive_date_done",
    "DROP INDEX celery_taskmeta_archive_tid_pattern",
    "DROP INDEX celery_taskmeta_history_archive_hash",
  ],
};

async function prepared(label: string, side: Side, history: boolean): Promise<DatabaseBackend> {
  const db = await createPg(label);
  const backend = await openBackend({ url: db.url, resultExpires: null, history });
  if (side !== "delete") {
    await backend.createArchive();
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      for (const statement of SETUP[side]) await c.query(statement);
    } finally {
      await c.end();
    }
  }
  await fillFinishedPg(db.url, ROWS);
  return backend;
}

async function main(): Promise<void> {
  const out: string[] = [
    `archive move floor: ${fmt(ROWS)} rows, batches of ${fmt(BATCH)}`,
    "| history | side | rows/s | ratio to delete |",
    "|---|---|---|---|",
  ];
  try {
    for (const history of [true, false]) {
      let deleteRate = 0;
      for (const side of SIDES) {
        const backend = await prepared(`floor_${history ? "h" : "n"}_${SIDES.indexOf(side)}`, side, history);
        const t = performance.now();
        const report =
          side === "delete"
            ? await backend.cleanup({ expires: "7d", batchSize: BATCH })
            : await backend.cleanup({ archiveAfter: "7d", expires: "400d", batchSize: BATCH });
        const rate = ((side === "delete" ? report.tasks : report.archived) * 1000) / (performance.now() - t);
        await backend.close();
        if (side === "delete") deleteRate = rate;
        const line = `| ${history ? "kept" : "off"} | ${side} | ${fmt(rate)} | ${(rate / deleteRate).toFixed(2)}x |`;
        out.push(line);
        process.stderr.write(`${line}\n`);
      }
    }
  } finally {
    await dropAll();
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

await main();
