/**
 * Wake-up delay: a client blocked in get() in one process, the result committed by another
 * process; the delay runs from the writer's commit returning to get() returning (both clocks are
 * the machine's wall clock). taskledger wakes through LISTEN/NOTIFY on PostgreSQL and a
 * PRAGMA data_version check on SQLite; Celery's AsyncResult.get() polls every 0.5 s (its default
 * interval), so its delay is spread over 0–500 ms and its writes land at a random point of the
 * interval. Samples alternate in blocks: taskledger, Celery, taskledger, Celery.
 */
import { randomUUID } from "node:crypto";
import { AsyncResult, openBackend, type DatabaseBackend } from "../../src/index.js";
import { CeleryProcess } from "../celery.js";
import { NodeChild } from "../child.js";
import { checkTarget, fmt, out, sleep, summarize } from "../lib.js";
import type { BenchContext, Scenario, Side } from "../scenario.js";

const WARMUP = 5;
const BLOCKS = 2;

async function taskledgerSamples(backend: DatabaseBackend, writer: NodeChild, samples: number): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = randomUUID();
    let woke = 0;
    // Default interval (500 ms): only a pushed wake-up (or the SQLite change check) makes the delay small.
    const waiting = new AsyncResult(id, backend).get({ timeout: 10_000 }).then(() => (woke = performance.timeOrigin + performance.now()));
    while (backend.waiterCount === 0) await new Promise((resolve) => setImmediate(resolve));
    await sleep(2 + Math.random() * 8);
    writer.send(id);
    const [, committed] = (await writer.next()).split(" ");
    await waiting;
    delays.push(woke - Number(committed));
  }
  return delays;
}

async function celerySamples(waiter: CeleryProcess, writer: CeleryProcess, samples: number): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = randomUUID();
    waiter.send({ op: "wait", id, mode: "client", interval: 0.5, timeout: 10 });
    await waiter.next(); // {"event": "waiting"}: get() starts polling now
    await sleep(Math.random() * 500);
    const { committed } = await writer.call({ op: "store_one", id, mode: "pooled" });
    const { woke } = await waiter.next();
    delays.push((woke as number) - (committed as number));
  }
  return delays;
}

async function measureSide(ctx: BenchContext, side: Side): Promise<void> {
  const { plan } = ctx;
  const backend = await openBackend({ url: side.tl.url, migrate: false });
  const writer = new NodeChild("wakeup-writer.ts", [side.tl.url]);
  let celeryWaiter: CeleryProcess | undefined;
  let celeryWriter: CeleryProcess | undefined;
  try {
    if ((await writer.next()) !== "ready") throw new Error("the wake-up writer did not start");
    if (side.cel) {
      celeryWaiter = await CeleryProcess.start(side.cel.celeryUrl);
      celeryWriter = await CeleryProcess.start(side.cel.celeryUrl);
      await celeryWriter.call({ op: "prepare", mode: "pooled" });
      await celeryWaiter.call({ op: "prepare", mode: "client" });
    }
    await taskledgerSamples(backend, writer, WARMUP);
    const tl: number[] = [];
    const celery: number[] = [];
    for (let block = 0; block < BLOCKS; block++) {
      tl.push(...(await taskledgerSamples(backend, writer, Math.ceil(plan.wakeSamples / BLOCKS))));
      if (celeryWaiter && celeryWriter)
        celery.push(...(await celerySamples(celeryWaiter, celeryWriter, Math.ceil(plan.celeryWakeSamples / BLOCKS))));
    }
    const how = side.dialect === "postgresql" ? "LISTEN/NOTIFY" : "PRAGMA data_version every 5 ms";
    out.print(`\n#### ${side.label}: wake-up delay, waiter and writer in different processes\n`);
    out.print("| waiter | p50 | p95 | max | samples | taskledger p50 vs this |");
    out.print("|---|---|---|---|---|---|");
    const t = summarize(tl);
    out.print(
      `| taskledger AsyncResult.get() (${how}) | ${fmt(t.median, 2)} ms | ${fmt(t.p95, 2)} ms | ${fmt(t.max, 2)} ms | ${t.n} | — |`,
    );
    if (celery.length > 0) {
      const c = summarize(celery);
      out.print(
        `| Celery AsyncResult.get(interval=0.5), client mode | ${fmt(c.median, 1)} ms | ${fmt(c.p95, 1)} ms | ${fmt(c.max, 1)} ms | ${c.n} | ${fmt(c.median / t.median, 0)}x |`,
      );
    }
    const limit = side.dialect === "postgresql" ? 5 : 20;
    checkTarget(
      `wake-up, ${side.label}`,
      `wake-up p50 < ${limit} ms`,
      `p50 ${fmt(t.median, 2)} ms, p95 ${fmt(t.p95, 2)} ms, max ${fmt(t.max, 2)} ms`,
      t.median < limit,
    );
  } finally {
    await writer.close();
    await celeryWaiter?.close();
    await celeryWriter?.close();
    await backend.close();
  }
}

export const wakeup: Scenario = {
  name: "wakeup",
  title: "Wake-up delay across processes",
  async run(ctx: BenchContext) {
    for (const side of ctx.sides) await measureSide(ctx, side);
  },
};
