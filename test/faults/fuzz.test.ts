/**
 * Property-based fuzzing (fast-check) of everything that reads outside input: the database
 * URL parser, the duration parser, the JSON codec (round trip), the pickle reader and the kombu
 * JSON reader. Only typed errors may come out, nothing may hang (each target runs in a worker
 * thread that is terminated after HANG_MS), and nothing in a pickle may run. The seed is fixed
 * (FUZZ_SEED, default 20261201) so CI's verdict is repeatable; FUZZ_RUNS raises the runs per
 * target for long local runs (default 2,000).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { figure } from "./helpers/children.js";

const SEED = Number(process.env["FUZZ_SEED"] ?? 20261201);
const RUNS = Number(process.env["FUZZ_RUNS"] ?? 2_000);
/** A target that has not answered by then is taken to hang. */
const HANG_MS = Math.max(120_000, RUNS * 60);
const WORKER = new URL("./fixtures/fuzz-worker.mjs", import.meta.url);

function fuzz(target: string): Promise<{ ok: boolean; message?: string; ms?: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { target, seed: SEED, runs: RUNS } });
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve({ ok: false, message: `no answer after ${HANG_MS} ms: a hang` });
    }, HANG_MS);
    worker.once("message", (message: { ok: boolean; message?: string; ms?: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(message);
    });
    worker.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe(`fuzzing (seed ${SEED}, ${RUNS} runs per target)`, () => {
  const cases: [string, string][] = [
    ["url", "the database URL parser gives a target or a ConfigError, and never shows a password"],
    ["duration", "the duration parser gives a finite non-negative number of milliseconds or a ConfigError"],
    ["json", "the JSON codec reads back what it wrote (dates, bytes, bigints, __type__ keys included)"],
    ["pickle", "the pickle reader gives a value or a PickleReadError and runs nothing it names"],
    ["kombu", "the kombu JSON reader gives a value or a CorruptValueError"],
  ];
  for (const [target, sentence] of cases) {
    it(sentence, async () => {
      const outcome = await fuzz(target);
      figure(`fuzz-${target}`, { seed: SEED, runs: RUNS, ok: outcome.ok, ms: Math.round(outcome.ms ?? 0) });
      assert.ok(outcome.ok, outcome.message);
    });
  }
});
