/**
 * The archive tier on PostgreSQL, in one run, as ratios against baselines measured in
 * the same run.
 *   1. Expiring one month of the archive (a partition drop) against the batched DELETE of the same
 *      number of rows from an unpartitioned task table, each with a writer storing throughout
 *      (its longest gap between stores is the stall).
 *   2. getTaskMeta of an archived id and of an unknown id against a hot-table read.
 *   3. Moving rows into the archive against plain batched deletion (rows/s).
 *   4. Peak RSS of this process across the whole run.
 *
 *   npx tsx bench/archive.ts [--rows 10000000] [--move-rows 1000000] [--reads 2000]
 *     [--move-only] [--no-history]
 * --rows archived rows over 12 monthly partitions (the size: 10M; one month ~830k).
 */
import pg from "pg";
import { openBackend, states, type DatabaseBackend } from "../src/index.js";
import { createPg, dropAll } from "./databases.js";
import { fillFinishedPg } from "./fill.js";
import { fmt, fmtAuto, median, numberArg } from "./lib.js";

const ROWS = numberArg("rows", 10_000_000);
const MOVE_ROWS = numberArg("move-rows", 1_000_000);
const READS = numberArg("reads", 2000);
/** Only the move-rate comparison (section 3), which needs no 10M-row archive. */
const MOVE_ONLY = process.argv.includes("--move-only");
/** Both sides of the move comparison on databases that keep no history (`history: false`). */
const NO_HISTORY = process.argv.includes("--no-history");
const MONTHS = 12;

const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  process.stderr.write(`${line}\n`);
};

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}

/** Stores results in a loop until stopped; returns the longest gap between two stores. */
function writer(backend: DatabaseBackend): { stop(): Promise<{ stores: number; maxGapMs: number }> } {
  let running = true;
  const done = (async () => {
    let stores = 0;
    let maxGap = 0;
    let last = performance.now();
    while (running) {
      await backend.markAsDone(`w-${stores}-${Math.random()}`, stores);
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      stores++;
    }
    return { stores, maxGapMs: maxGap };
  })();
  return { stop: async () => ((running = false), done) };
}

const monthStart = (base: Date, add: number) => new Date(Date.UTC(base.getUTCFullYear(), base.getUTCMonth() + add, 1));
const naive = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "");

/** One database of `rows` finished rows, 20 days old: the move's and the delete's starting point. */
async function finishedRows(label: string, rows: number, archive: boolean): Promise<DatabaseBackend> {
  const db = await createPg(label);
  const backend = await openBackend({ url: db.url, resultExpires: null, ...(NO_HISTORY ? { history: false } : {}) });
  if (archive) await backend.createArchive();
  await fillFinishedPg(db.url, rows);
  return backend;
}

/**
 * Moving rows into the archive against batched deletion of the same rows, in two rounds with the
 * order swapped (move then delete, delete then move), so neither side always runs on a warmer machine.
 */
async function moveRates(): Promise<void> {
  const ratios: number[] = [];
  for (const order of [
    ["move", "delete"],
    ["delete", "move"],
  ] as const) {
    const rates: Record<string, number> = {};
    for (const side of order) {
      const backend = await finishedRows(`${side}${ratios.length}`, MOVE_ROWS, side === "move");
      const t = performance.now();
      const report =
        side === "move" ? await backend.cleanup({ archiveAfter: "7d", expires: "400d" }) : await backend.cleanup({ expires: "7d" });
      const ms = performance.now() - t;
      rates[side] = ((side === "move" ? report.archived : report.tasks) * 1000) / ms;
      await backend.close();
    }
    ratios.push(rates["move"]! / rates["delete"]!);
    say(
      `| move ${fmt(MOVE_ROWS)} rows into the archive (${order.join(", then ")}) | ${fmt(rates["move"]!)} rows/s | batched delete ${fmt(rates["delete"]!)} rows/s | ${ratios.at(-1)!.toFixed(2)}x |`,
    );
  }
  say(`move / batched delete, mean of both orders: ${((ratios[0]! + ratios[1]!) / 2).toFixed(2)}x (target >= 0.5x)`);
}

async function main(): Promise<void> {
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const startRss = process.memoryUsage().rss;
  const perMonth = Math.floor(ROWS / MONTHS);
  if (MOVE_ONLY) {
    try {
      await moveRates();
    } finally {
      clearInterval(rssTimer);
      await dropAll();
    }
    process.stdout.write(
      `archive bench (--move-only${NO_HISTORY ? ", --no-history" : ""}): ${fmt(MOVE_ROWS)} rows moved\n${lines.join("\n")}\n`,
    );
    return;
  }
  try {
    // --- 1. Archive: 12 monthly partitions of expiries, the first month already past. ---
    const archDb = await createPg("arch");
    const arch = await openBackend({ url: archDb.url, resultExpires: "30d" });
    const base = monthStart(new Date(), -1);
    await arch.createArchive({ now: base });
    const archSql = await client(archDb.url);
    for (let m = 0; m < MONTHS; m++) {
      const start = monthStart(base, m);
      const end = monthStart(base, m + 1);
      await archSql.query(`CREATE TABLE IF NOT EXISTS "celery_taskmeta_archive_p${start.getUTCFullYear()}${String(start.getUTCMonth() + 1).padStart(2, "0")}"
        PARTITION OF celery_taskmeta_archive FOR VALUES FROM ('${naive(start)}') TO ('${naive(end)}')`);
      // Expiries spread over the month; date_done 30 days earlier, as the 30d rule files them.
      await archSql.query(
        `INSERT INTO celery_taskmeta_archive (id, task_id, status, result, date_done, expires_at, archived_at)
        SELECT $1::int + g, md5(($1::int + g)::text)::uuid::text, 'SUCCESS', '\\x7b7d'::bytea,
               $2::timestamp + (g * ($4::float / $3::int)) * interval '1 ms' - interval '30 days',
               $2::timestamp + (g * ($4::float / $3::int)) * interval '1 ms', $2::timestamp
        FROM generate_series(0, $3::int - 1) AS g`,
        [m * perMonth, naive(start), perMonth, end.getTime() - start.getTime() - 1],
      );
      process.stderr.write(`filled archive month ${m + 1}/${MONTHS}\n`);
    }
    await archSql.query("VACUUM ANALYZE celery_taskmeta_archive");
    // Hot rows for the read comparison.
    const hotIds = Array.from({ length: 1000 }, (_, i) => `hot-${i}`);
    await arch.storeMany(hotIds.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })));

    // --- 1b. Baseline: the same number of rows in an unpartitioned task table, batch-deleted. ---
    const plainDb = await createPg("plain");
    const plain = await openBackend({ url: plainDb.url, resultExpires: "30d" });
    const plainSql = await client(plainDb.url);
    await plainSql.query(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
      SELECT g, md5(g::text)::uuid::text, 'SUCCESS', '\\x7b7d'::bytea,
             CASE WHEN g < $2 THEN now()::timestamp - interval '60 days' + g * interval '1 ms' ELSE now()::timestamp END, now()::timestamp
      FROM generate_series(0, $1::int - 1) AS g`,
      [Math.min(ROWS, perMonth * 2), perMonth],
    );
    await plainSql.query("SELECT setval('task_id_sequence', $1)", [ROWS + 1]);
    await plainSql.query("VACUUM ANALYZE celery_taskmeta");

    const expireAt = monthStart(base, 1);
    const w1 = writer(arch);
    await new Promise((r) => setTimeout(r, 300));
    let t = performance.now();
    const expired = await arch.cleanup({ expires: "30d", now: new Date(expireAt.getTime() + 1000) });
    const dropMs = performance.now() - t;
    const s1 = await w1.stop();

    const w2 = writer(plain);
    await new Promise((r) => setTimeout(r, 300));
    t = performance.now();
    const deleted = await plain.cleanup({ expires: "30d" });
    const deleteMs = performance.now() - t;
    const s2 = await w2.stop();
    say(
      `| expire one month (${fmt(perMonth)} rows) | archive: partition drop | ${fmtAuto(dropMs)} ms (${fmt(expired.archiveExpired)} rows, ${expired.partitionsDropped} partition) | writer's longest stall ${fmtAuto(s1.maxGapMs)} ms |`,
    );
    say(
      `| | hot table: batched DELETE | ${fmtAuto(deleteMs)} ms (${fmt(deleted.tasks)} rows) | writer's longest stall ${fmtAuto(s2.maxGapMs)} ms |`,
    );
    say(
      `drop / batched delete time = ${(dropMs / deleteMs).toFixed(3)}x; drop ${dropMs < 1000 ? "<" : ">="} 1 s; writer stall ${s1.maxGapMs < 50 ? "<" : ">="} 50 ms`,
    );

    // --- 2. Reads: hot, archived, unknown, interleaved. ---
    const archivedIds = Array.from({ length: 1000 }, (_, i) => `${perMonth * 5 + i * 37}`);
    const archivedTaskIds = (
      await archSql.query<{ task_id: string }>("SELECT task_id FROM celery_taskmeta_archive WHERE id = ANY($1::int[])", [
        archivedIds.map(Number),
      ])
    ).rows.map((r) => r.task_id);
    // The first read of an archived id finds its index and heap pages outside shared_buffers (the
    // archive is far larger than the default 128 MB), as an auditor's one-off lookup would; later
    // reads of the same ids are cached. Both are reported; hot rows were just written (cached).
    const times = { hot: [] as number[], archivedFirst: [] as number[], archivedAgain: [] as number[], unknown: [] as number[] };
    for (let i = 0; i < READS; i++) {
      for (const kind of ["hot", "archived", "unknown"] as const) {
        const id =
          kind === "hot" ? hotIds[i % hotIds.length]! : kind === "archived" ? archivedTaskIds[i % archivedTaskIds.length]! : `missing-${i}`;
        const started = performance.now();
        const meta = await arch.getTaskMeta(id);
        const ms = performance.now() - started;
        if (kind === "archived") (i < archivedTaskIds.length ? times.archivedFirst : times.archivedAgain).push(ms);
        else times[kind].push(ms);
        if ((kind === "unknown") === meta.exists) throw new Error(`unexpected read of ${kind} id ${id}`);
      }
    }
    const hot = median(times.hot);
    const vsHot = (values: number[]) => `${fmtAuto(median(values) * 1000)} µs (${(median(values) / hot).toFixed(2)}x)`;
    say(
      `| getTaskMeta (${fmt(READS)} each, interleaved) | hot ${fmtAuto(hot * 1000)} µs | archived, first read of the id ${vsHot(times.archivedFirst)}; read again ${times.archivedAgain.length ? vsHot(times.archivedAgain) : "n/a"} | unknown ${vsHot(times.unknown)} |`,
    );

    // --- 3. Move rate against batched deletion of the same shape. ---
    await moveRates();

    clearInterval(rssTimer);
    say(`| memory | RSS at start ${fmt(startRss / 2 ** 20)} MB | peak ${fmt(peakRss / 2 ** 20)} MB |`);
    for (const b of [arch, plain]) await b.close();
    await archSql.end();
    await plainSql.end();
  } finally {
    clearInterval(rssTimer);
    await dropAll();
  }
  process.stdout.write(
    `archive bench: ${fmt(ROWS)} archived rows over ${MONTHS} monthly partitions, ${fmt(MOVE_ROWS)} rows moved\n${lines.join("\n")}\n`,
  );
}

await main();
