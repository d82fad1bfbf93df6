/**
 * Wake-up delay: a client blocked in get() in this process, a worker committing the result in
 * another; the delay is from the writer's commit returning to get() resolving. PostgreSQL wakes
 * through LISTEN/NOTIFY, SQLite across processes through the data_version check.
 * Usage: tsx bench/wakeup.ts [--quick]
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AsyncResult, openBackend } from "../src/index.js";
import { fmt, freshPg, freshSqlite, summarize } from "./lib.js";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 60 : 300;
const WARMUP = 10;

async function measure(url: string): Promise<number[]> {
  const backend = await openBackend({ url, migrate: false });
  const writer = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./wakeup-writer.ts", import.meta.url)), url], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: writer.stdout! })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string;
  if ((await next()) !== "ready") throw new Error("writer did not start");
  const delays: number[] = [];
  try {
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const id = randomUUID();
      let woke = 0;
      // Default interval (500 ms): only a pushed wake-up can make the delay small.
      const waiting = new AsyncResult(id, backend).get({ timeout: 10_000 }).then(() => (woke = performance.timeOrigin + performance.now()));
      while (backend.changes.size === 0) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));
      writer.stdin!.write(`${id}\n`);
      const [, committed] = (await next()).split(" ");
      await waiting;
      if (i >= WARMUP) delays.push(woke - Number(committed));
    }
  } finally {
    writer.stdin!.end();
    await new Promise((resolve) => writer.on("close", resolve));
    await backend.close();
  }
  return delays;
}

function report(label: string, delays: number[]) {
  const s = summarize(delays);
  console.log(`| ${label} | ${fmt(s.median, 2)} ms | ${fmt(s.p95, 2)} ms | ${fmt(s.max, 2)} ms | ${delays.length} |`);
}

console.log(`\n### Wake-up delay after a commit in another process (${SAMPLES} samples after ${WARMUP} warm-ups)\n`);
console.log("| database | p50 | p95 | max | samples |\n|---|---|---|---|---|");
const pgDb = await freshPg("wakeup");
try {
  await (await openBackend({ url: pgDb.url })).close();
  report("PostgreSQL (LISTEN/NOTIFY)", await measure(pgDb.url));
} finally {
  await pgDb.drop();
}
const sqlite = freshSqlite("wakeup");
try {
  await (await openBackend({ url: sqlite.url })).close();
  report("SQLite across processes (data_version every 5 ms)", await measure(sqlite.url));
} finally {
  await sqlite.drop();
}
