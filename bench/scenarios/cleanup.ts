/**
 * Cleanup of expired results while a writer keeps storing: taskledger's backend.cleanup()
 * (bounded batches on the date_done index) against Celery's cleanup() (one DELETE per table, no
 * index on date_done), each on its own copy of the same filled table. Two shapes: most rows
 * expired (1M of 1.1M), and 1% expired in a 10M-row table (quick mode: a tenth of each).
 *
 * Each round: copy the template, start the writer (taskledger: markAsDone in a Node process;
 * Celery: mark_as_done in a Python process, worker mode), start the cleanup in another process,
 * and record rows/s, the writer's longest stall (the longest time between two consecutive
 * successful stores while the cleanup ran) and the cleanup process's peak RSS.
 */
import { CeleryProcess } from "../celery.js";
import { NodeChild } from "../child.js";
import { describeShape, type DbHandle, type ShapeName } from "../fixtures.js";
import { EXPIRES_ALL_MS } from "../fill.js";
import { checkTarget, fmt, fmtAuto, median, out, printTable, ratioTarget, sleep } from "../lib.js";
import type { BenchContext, Scenario, Side } from "../scenario.js";

export interface CleanupRun {
  rows: number;
  ms: number;
  rowsPerSecond: number;
  stallMs: number;
  writerStores: number;
  writerErrors: number;
  writerP50Ms: number;
  rssBeforeKb: number;
  hwmKb: number;
}

/** Gives the writer this long before the cleanup starts, so its connection and statements are warm. */
const WRITER_LEAD_MS = 300;

interface ChildCleanupResult {
  deleted: number;
  ms: number;
  batches: number;
  maxBatchMs: number;
  rssBeforeKb: number;
  hwmKb: number;
}

/** taskledger's cleanup in a child process; the caller runs whatever must happen alongside. */
export async function taskledgerCleanup(
  db: DbHandle,
  expiresMs: number,
  alongside?: { start(): Promise<void> },
  tuning: { batchSize?: number; pauseMs?: number } = {},
): Promise<ChildCleanupResult> {
  const cleaner = new NodeChild("cleanup.ts", [db.url, String(expiresMs), String(tuning.batchSize ?? "-"), String(tuning.pauseMs ?? "-")]);
  try {
    if ((await cleaner.next()) !== "ready") throw new Error("the cleanup child did not start");
    await alongside?.start();
    cleaner.send("go");
    return await cleaner.nextJson<ChildCleanupResult>();
  } finally {
    await cleaner.close();
  }
}

export async function taskledgerRound(
  template: DbHandle,
  label: string,
  tuning: { batchSize?: number; pauseMs?: number } = {},
): Promise<CleanupRun> {
  const db = await template.copy(label);
  const writer = new NodeChild("store-loop.ts", [db.url]);
  try {
    if ((await writer.next()) !== "ready") throw new Error("the writer did not start");
    const result = await taskledgerCleanup(
      db,
      EXPIRES_ALL_MS,
      {
        start: async () => {
          await sleep(WRITER_LEAD_MS);
          writer.send("mark");
        },
      },
      tuning,
    );
    writer.send("stop");
    const w = await writer.nextJson<{ stores: number; maxGapMs: number; p50GapMs: number; errors: number }>();
    return {
      rows: result.deleted,
      ms: result.ms,
      rowsPerSecond: (result.deleted * 1000) / result.ms,
      stallMs: w.maxGapMs,
      writerStores: w.stores,
      writerErrors: w.errors,
      writerP50Ms: w.p50GapMs,
      rssBeforeKb: result.rssBeforeKb,
      hwmKb: result.hwmKb,
    };
  } finally {
    await writer.close();
    await db.drop();
  }
}

async function celeryRound(template: DbHandle, label: string, expiredRows: number): Promise<CleanupRun> {
  const db = await template.copy(label);
  const writer = await CeleryProcess.start(db.celeryUrl);
  const cleaner = await CeleryProcess.start(db.celeryUrl);
  try {
    await writer.call({ op: "writer_start", mode: "pooled" });
    await cleaner.call({ op: "prepare", mode: "pooled" });
    await sleep(WRITER_LEAD_MS);
    await writer.call({ op: "writer_mark" });
    const result = await cleaner.call({ op: "cleanup", mode: "pooled" });
    const w = await writer.call({ op: "writer_stop" });
    const ms = result["ms"] as number;
    return {
      rows: expiredRows,
      ms,
      rowsPerSecond: (expiredRows * 1000) / ms,
      stallMs: w["max_gap_ms"] as number,
      writerStores: w["stores"] as number,
      writerErrors: w["errors"] as number,
      writerP50Ms: w["p50_gap_ms"] as number,
      rssBeforeKb: result["rss_before_kb"] as number,
      hwmKb: result["rss_hwm_kb"] as number,
    };
  } finally {
    await writer.close();
    await cleaner.close();
    await db.drop();
  }
}

async function runShape(ctx: BenchContext, side: Side, shapeName: ShapeName, rounds: number): Promise<void> {
  const shape = ctx.fixtures.shape(shapeName);
  const tlTemplate = await ctx.fixtures.template(side.dialect, "taskledger", shapeName);
  const celTemplate = side.cel ? await ctx.fixtures.template(side.dialect, "celery", shapeName) : undefined;
  const tl: CleanupRun[] = [];
  const cel: CleanupRun[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["tl", "cel"] : ["cel", "tl"];
    for (const who of order) {
      if (who === "tl") {
        tl.push(await taskledgerRound(tlTemplate, `c_tl_${shapeName.toLowerCase()}_${r}`));
        out.progress(
          `${side.label} cleanup ${shapeName} round ${r}: taskledger ${fmt(tl.at(-1)!.rowsPerSecond)} rows/s, stall ${fmt(tl.at(-1)!.stallMs, 1)} ms`,
        );
      } else if (celTemplate) {
        cel.push(await celeryRound(celTemplate, `c_cel_${shapeName.toLowerCase()}_${r}`, shape.expired));
        out.progress(
          `${side.label} cleanup ${shapeName} round ${r}: Celery ${fmt(cel.at(-1)!.rowsPerSecond)} rows/s, stall ${fmt(cel.at(-1)!.stallMs, 1)} ms`,
        );
      }
    }
  }
  const extra = (runs: CleanupRun[]) => [
    `${fmtAuto(median(runs.map((x) => x.ms)) / 1000)} s`,
    `${fmtAuto(median(runs.map((x) => x.stallMs)))} ms (max ${fmtAuto(Math.max(...runs.map((x) => x.stallMs)))})`,
    `${fmt(median(runs.map((x) => x.writerStores)))}${runs.some((x) => x.writerErrors > 0) ? `, ${Math.max(...runs.map((x) => x.writerErrors))} failed` : ""}`,
    `${fmt(Math.max(...runs.map((x) => x.hwmKb)) / 1024)} MB`,
  ];
  const rows = [{ name: "taskledger backend.cleanup() (adaptive batches)", values: tl.map((x) => x.rowsPerSecond), extra: extra(tl) }];
  if (cel.length > 0) rows.push({ name: "Celery cleanup() (one DELETE)", values: cel.map((x) => x.rowsPerSecond), extra: extra(cel) });
  const label = shapeName === "most" ? "most rows expired" : "1% expired";
  printTable({
    title: `${side.label}: cleanup, ${label}: ${describeShape(shape)}, a writer storing throughout (${rounds} round(s) each)`,
    unit: "rows/s",
    better: "higher",
    reference: rows[0]!.name,
    extraHeaders: ["duration", "writer's longest stall", "writer's stores", "cleanup peak RSS"],
    rows,
    notes: [
      `Rows deleted per run: taskledger ${fmt(median(tl.map((x) => x.rows)))}${cel.length > 0 ? `, Celery ${fmt(shape.expired)} (its cleanup() returns no count; the fill put exactly that many rows past result_expires)` : ""}. Writer's median gap between stores: taskledger ${fmtAuto(median(tl.map((x) => x.writerP50Ms)))} ms${cel.length > 0 ? `, Celery ${fmtAuto(median(cel.map((x) => x.writerP50Ms)))} ms` : ""}.`,
    ],
  });
  const scenario = `cleanup ${label}, ${side.label}`;
  const ratio = cel.length > 0 ? median(tl.map((x) => x.rowsPerSecond)) / median(cel.map((x) => x.rowsPerSecond)) : Number.NaN;
  if (shapeName === "most") ratioTarget(scenario, "cleanup >= 0.5x Celery's single DELETE rows/s when most rows expire", ratio, 0.5);
  else ratioTarget(scenario, `cleanup >= 10x faster than Celery at 1% of ${fmt(shape.live + shape.expired)}`, ratio, 10);
  if (side.dialect === "sqlite") {
    const worst = Math.max(...tl.map((x) => x.stallMs));
    checkTarget(scenario, "SQLite concurrent writer stall <= 250 ms during cleanup", `${fmtAuto(worst)} ms (worst round)`, worst <= 250);
  }
}

export const cleanup: Scenario = {
  name: "cleanup",
  title: "Cleanup with a concurrent writer: most rows expired, and 1% expired in a big table",
  templates: (ctx) =>
    ctx.sides.flatMap((side) =>
      (["most", "onePct"] as const).flatMap((name) => [
        { dialect: side.dialect, kind: "taskledger" as const, name },
        ...(side.cel ? [{ dialect: side.dialect, kind: "celery" as const, name }] : []),
      ]),
    ),
  async run(ctx: BenchContext) {
    for (const side of ctx.sides) {
      await runShape(ctx, side, "most", ctx.plan.cleanupRounds.most);
      await runShape(ctx, side, "onePct", ctx.plan.cleanupRounds.onePct);
    }
  },
};
