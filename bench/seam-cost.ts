/**
 * What routing every statement through one executor per driver costs a store, against the drivers
 * as they were before (one class per dialect calling its pool or connection directly). The
 * baseline is another build of taskledger (`--baseline`: the dist/ directory of a checkout of the
 * commit before the executor), loaded beside this one; both open backends on their own fresh
 * database of each dialect, and interleaved rounds run STORES single stores (CALLERS concurrent
 * callers on PostgreSQL, one on SQLite, whose one writer serializes them anyway) and a getTaskMeta
 * of each.
 *
 *   git worktree add /tmp/tl-before <commit> && (cd /tmp/tl-before && npm ci && npm run build)
 *   npx tsx bench/seam-cost.ts --baseline /tmp/tl-before/dist [--stores 4000] [--callers 8] [--rounds 8]
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import * as current from "../src/index.js";
import { createPg, dropAll } from "./databases.js";
import { fmt, fmtRatio, interleave, numberArg, summarize } from "./lib.js";

const STORES = numberArg("stores", 4_000);
const CALLERS = numberArg("callers", 8);
const ROUNDS = numberArg("rounds", 8);
const baselineArg = process.argv.indexOf("--baseline");
if (baselineArg < 0) throw new Error("--baseline <dist directory of the build to compare with> is required");
const baselineDist = resolve(process.argv[baselineArg + 1]!);

type Library = Pick<typeof current, "openBackend">;
type Backend = Awaited<ReturnType<typeof current.openBackend>>;

async function storeRound(backend: Backend, callers: number): Promise<number> {
  const ids = Array.from({ length: STORES }, () => randomUUID());
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < ids.length; i = next++) await backend.storeResult(ids[i]!, i, "SUCCESS");
    }),
  );
  const storesPerSecond = (STORES * 1000) / (performance.now() - started);
  return storesPerSecond;
}

async function readRound(backend: Backend, ids: readonly string[], callers: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = next++; i < ids.length; i = next++) await backend.getTaskMeta(ids[i]!);
    }),
  );
  return (ids.length * 1000) / (performance.now() - started);
}

async function main(): Promise<void> {
  const before = (await import(pathToFileURL(join(baselineDist, "index.js")).href)) as Library;
  const sides: [string, Library][] = [
    ["before", before],
    ["executor", current],
  ];
  const dir = mkdtempSync(join(tmpdir(), "tl-seam-"));
  try {
    for (const dialect of ["postgresql", "sqlite"] as const) {
      const callers = dialect === "postgresql" ? CALLERS : 1;
      const backends = new Map<string, Backend>();
      const readIds = new Map<string, string[]>();
      for (const [name, lib] of sides) {
        const url = dialect === "postgresql" ? (await createPg(`seam_${name}`)).url : join(dir, `${name}.db`);
        const backend = (await lib.openBackend({ url, resultExpires: null })) as Backend;
        backends.set(name, backend);
        const ids = Array.from({ length: STORES }, () => randomUUID());
        for (const id of ids) await backend.storeResult(id, 1, "SUCCESS");
        readIds.set(name, ids);
      }
      const stores = await interleave(
        ROUNDS,
        sides.map(([name]) => ({ name, round: () => storeRound(backends.get(name)!, callers) })),
      );
      const reads = await interleave(
        ROUNDS,
        sides.map(([name]) => ({ name, round: () => readRound(backends.get(name)!, readIds.get(name)!, callers) })),
      );
      for (const [label, results] of [
        ["storeResult", stores],
        ["getTaskMeta", reads],
      ] as const) {
        const b = summarize(results.get("before")!);
        const e = summarize(results.get("executor")!);
        console.log(
          `${dialect} ${label} (${callers} caller${callers > 1 ? "s" : ""}): before ${fmt(b.median)}/s, through the executor ${fmt(e.median)}/s: ${fmtRatio(e.median / b.median)}`,
        );
      }
      for (const backend of backends.values()) await backend.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropAll();
  }
}

await main();
