/**
 * One taskledger cleanup in a process of its own, so its memory high-water mark (VmHWM) is its
 * own: opens the backend, prints "ready", waits for "go" on stdin, notes RSS, runs
 * backend.cleanup() with default options apart from `expires`, and prints one JSON line: rows
 * deleted, duration, batches, the longest time between two progress events (a batch and the
 * pause after the one before), RSS before, and the high-water mark after.
 * argv: url expiresMs [batchSize [pauseMs]] (empty or "-" keeps taskledger's default)
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { openBackend } from "../../src/index.js";

function statusKb(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) : Number.NaN;
}

const [url, expiresMs, batchSize, pauseMs] = process.argv.slice(2);
const given = (value: string | undefined) => value !== undefined && value !== "" && value !== "-";
const backend = await openBackend({ url: url!, migrate: false, poolSize: 1 });
await backend.exists("taskledger-bench-warmup"); // connection open, statements ready: outside the clock
process.stdout.write("ready\n");
const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
for (;;) {
  const line = await input.next();
  if (line.done) {
    await backend.close(); // the harness went away before saying go
    process.exit(1);
  }
  if (line.value.trim() === "go") break;
}
const rssBeforeKb = statusKb("VmRSS");
let batches = 0;
let maxBatchMs = 0;
let last = performance.now();
const started = last;
const report = await backend.cleanup({
  expires: Number(expiresMs),
  ...(given(batchSize) ? { batchSize: Number(batchSize) } : {}),
  ...(given(pauseMs) ? { pauseMs: Number(pauseMs) } : {}),
  onProgress: () => {
    const now = performance.now();
    batches++;
    maxBatchMs = Math.max(maxBatchMs, now - last);
    last = now;
  },
});
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ deleted: report.tasks + report.groups, ms, batches, maxBatchMs, rssBeforeKb, hwmKb: statusKb("VmHWM") })}\n`,
);
await backend.close();
