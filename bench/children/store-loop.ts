/**
 * The concurrent writer of the cleanup scenario: stores results back to back with markAsDone
 * (one process, one caller, as a worker would) and records the time between consecutive
 * successful stores (and, when stopped, the time since the last one). stdin: "mark" forgets the
 * gaps so far (the cleanup starts now), "stop" ends the loop; stdout: "ready", then one JSON
 * summary line.
 * argv: url
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { openBackend } from "../../src/index.js";

const backend = await openBackend({ url: process.argv[2]!, migrate: false, poolSize: 1 });
let stopping = false;
let stoppedAt = 0;
let last = performance.now();
let gaps: number[] = [];
let errors = 0;
let lastError: string | undefined;
const stop = () => {
  if (stopping) return;
  stopping = true;
  stoppedAt = performance.now();
};
createInterface({ input: process.stdin })
  .on("close", stop)
  .on("line", (line) => {
    if (line.trim() === "mark") {
      gaps = [];
      errors = 0;
    } else if (line.trim() === "stop") stop();
  });

const loop = (async () => {
  last = performance.now();
  while (!stopping) {
    try {
      await backend.markAsDone(randomUUID(), { ok: true });
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    } catch (error) {
      errors++;
      lastError = String(error).slice(0, 200);
    }
    // better-sqlite3 settles synchronously: let stdin (and timers) in between stores.
    await new Promise((resolve) => setImmediate(resolve));
  }
})();
process.stdout.write("ready\n");
await loop;
// A stall still running when the writer is stopped counts too.
const sorted = [...gaps, Math.max(0, stoppedAt - last)].sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    stores: gaps.length,
    maxGapMs: sorted[sorted.length - 1] ?? null,
    p50GapMs: sorted[Math.floor(sorted.length / 2)] ?? null,
    p99GapMs: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? null,
    errors,
    lastError,
  })}\n`,
);
await backend.close();
