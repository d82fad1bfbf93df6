/**
 * Peak memory: the RSS high-water mark (VmHWM) of a child process running one operation over a
 * big table, at two sizes, so "flat" can be checked: ten times the rows must not need more
 * memory. Both sizes run on copies of the "most expired" template (1.1M rows; quick: 110k), no
 * writer:
 *   cleanup  a tenth of the expired rows (expires = 9.2 days), then all of them (expires = 1 day);
 *   export   `taskledger export` (the CLI, JSON lines to /dev/null) of the rows done before
 *            9.2 days ago, then of every row.
 * The export slot measures the CLI as shipped in src/cli; if it is missing the row says so.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeShape, type DbHandle } from "../fixtures.js";
import { EXPIRES_ALL_MS, EXPIRES_TENTH_MS } from "../fill.js";
import { checkTarget, fmt, fmtAuto, out } from "../lib.js";
import type { BenchContext, Scenario } from "../scenario.js";
import { taskledgerCleanup } from "./cleanup.js";

/** Growth allowed from the small run's peak to the big run's peak for memory to count as flat. */
const FLAT_TOLERANCE = 1.1;
const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const PEAK_RSS = fileURLToPath(new URL("../children/peak-rss.mjs", import.meta.url));

interface PeakRun {
  rows: number;
  ms: number;
  rssBeforeKb: number | null;
  hwmKb: number;
}

async function onCopy<T>(template: DbHandle, label: string, body: (db: DbHandle) => Promise<T>): Promise<T> {
  const db = await template.copy(label);
  try {
    return await body(db);
  } finally {
    await db.drop();
  }
}

async function cleanupPeak(template: DbHandle, label: string, expiresMs: number): Promise<PeakRun> {
  const r = await onCopy(template, label, (db) => taskledgerCleanup(db, expiresMs));
  return { rows: r.deleted, ms: r.ms, rssBeforeKb: r.rssBeforeKb, hwmKb: r.hwmKb };
}

/** `taskledger --url … export [--until …]` with stdout to /dev/null; rows from its closing line. */
async function exportPeak(template: DbHandle, label: string, until: Date | null): Promise<PeakRun> {
  return onCopy(template, label, async (db) => {
    const devNull = openSync("/dev/null", "w");
    const args = [
      "--import",
      "tsx",
      "--import",
      PEAK_RSS,
      CLI,
      "--url",
      db.url,
      "export",
      ...(until ? ["--until", until.toISOString()] : []),
    ];
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", devNull, "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const ms = performance.now() - started;
    closeSync(devNull);
    const rows = /exported (\d+) tasks/.exec(stderr);
    const hwm = /taskledger-bench-vmhwm-kb=(\d+)/.exec(stderr);
    if (code !== 0 || !rows || !hwm) throw new Error(`taskledger export failed (exit ${code}): ${stderr.slice(-500)}`);
    return { rows: Number(rows[1]), ms, rssBeforeKb: null, hwmKb: Number(hwm[1]) };
  });
}

function flatTarget(scenario: string, what: string, small: PeakRun, big: PeakRun): void {
  const ratio = big.hwmKb / small.hwmKb;
  checkTarget(
    scenario,
    `flat memory: ${what} peak RSS at ${fmt(big.rows)} rows within ${Math.round((FLAT_TOLERANCE - 1) * 100)}% of ${fmt(small.rows)} rows`,
    `${fmt(small.hwmKb / 1024, 1)} MB → ${fmt(big.hwmKb / 1024, 1)} MB (${fmt(ratio, 2)}x)`,
    ratio <= FLAT_TOLERANCE,
  );
}

export const memory: Scenario = {
  name: "memory",
  title: "Peak memory of cleanup and export over 1M rows",
  templates: (ctx) => ctx.sides.map((side) => ({ dialect: side.dialect, kind: "taskledger" as const, name: "most" as const })),
  async run(ctx: BenchContext) {
    const shape = ctx.fixtures.shape("most");
    const cliPresent = existsSync(CLI);
    for (const side of ctx.sides) {
      const template = await ctx.fixtures.template(side.dialect, "taskledger", "most");
      const cleanups = [
        await cleanupPeak(template, "m_cl_tenth", EXPIRES_TENTH_MS),
        await cleanupPeak(template, "m_cl_all", EXPIRES_ALL_MS),
      ];
      const exports = cliPresent
        ? [await exportPeak(template, "m_ex_tenth", new Date(Date.now() - EXPIRES_TENTH_MS)), await exportPeak(template, "m_ex_all", null)]
        : [];
      out.print(`\n#### ${side.label}: peak RSS of one process (template: ${describeShape(shape)}; no writer)\n`);
      out.print("| operation | rows | duration | RSS before the work | peak RSS (VmHWM) |");
      out.print("|---|---|---|---|---|");
      for (const run of cleanups)
        out.print(
          `| taskledger backend.cleanup() | ${fmt(run.rows)} | ${fmtAuto(run.ms / 1000)} s | ${fmt(run.rssBeforeKb! / 1024, 1)} MB | ${fmt(run.hwmKb / 1024, 1)} MB |`,
        );
      for (const run of exports)
        out.print(
          `| taskledger export (CLI, JSON lines to /dev/null) | ${fmt(run.rows)} | ${fmtAuto(run.ms / 1000)} s (with process start) | — | ${fmt(run.hwmKb / 1024, 1)} MB |`,
        );
      if (!cliPresent) out.print(`| taskledger export | not measured: ${CLI} is missing | | | |`);
      out.print("\nThe RSS includes Node, tsx and the module graph (about 100 MB before any work).");
      flatTarget(`memory, ${side.label}`, "cleanup", cleanups[0]!, cleanups[1]!);
      if (exports.length === 2) flatTarget(`memory, ${side.label}`, "export", exports[0]!, exports[1]!);
      else checkTarget(`memory, ${side.label}`, "flat memory: taskledger export", "CLI entry point missing", null);
    }
  },
};
