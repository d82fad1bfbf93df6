/** `taskledger stats`: counts by state, name, worker and hour, the failure rate, and queue and run times. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { states } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function statsSuite(ctx: CliContext): void {
  describe("stats: counts", () => {
    let url = "";
    before(async () => {
      const store = await ctx.freshStore("cli_stats");
      url = store.url;
      await store.backend.storeMany([
        ...Array.from({ length: 6 }, () => ({ taskId: randomUUID(), status: states.SUCCESS, request: { name: "s.ok", worker: "w1" } })),
        ...Array.from({ length: 2 }, () => ({
          taskId: randomUUID(),
          status: states.FAILURE,
          result: new Error("e"),
          request: { name: "s.bad", worker: "w2" },
        })),
        { taskId: randomUUID(), status: states.STARTED, request: { name: "s.ok", worker: "w1" } },
      ]);
    });

    it("stats --json counts by state, name (with failures) and hour, with the failure rate of finished tasks", async () => {
      const result = await cli(["--url", url, "--json", "stats"]);
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout);
      assert.equal(stats.total, 9);
      assert.deepEqual(
        stats.byState.map((e: { key: string; count: number }) => [e.key, e.count]),
        [
          ["SUCCESS", 6],
          ["FAILURE", 2],
          ["STARTED", 1],
        ],
      );
      assert.deepEqual(
        stats.byName.map((e: { key: string; count: number; failures: number }) => [e.key, e.count, e.failures]),
        [
          ["s.ok", 7, 0],
          ["s.bad", 2, 2],
        ],
      );
      assert.equal(stats.failureRate, 0.25);
      assert.equal(stats.busiestHours[0].count, 8);
    });

    it("stats prints the total and the failure rate as text", async () => {
      const text = await cli(["--url", url, "stats"]);
      assert.match(text.stdout, /9 tasks since .*failure rate 25\.0%/);
    });
  });

  describe("stats: queue and run time", () => {
    let url = "";
    const t0 = Date.now() - 3_600_000;
    before(async () => {
      const store = await ctx.freshStore("cli_timings");
      url = store.url;
      const b = store.backend;
      // Task i of "t.fast" queues i seconds and runs 2i seconds; "t.other" has no send time (run time only).
      for (let i = 1; i <= 20; i++) {
        const task = randomUUID();
        const request = { name: "t.fast" };
        await b.markAsSent(task, request, { now: new Date(t0) });
        await b.markAsStarted(task, null, { request, now: new Date(t0 + i * 1000) });
        await b.markAsDone(task, i, { request, now: new Date(t0 + 3 * i * 1000) });
      }
      const other = randomUUID();
      await b.markAsStarted(other, null, { request: { name: "t.other" }, now: new Date(t0) });
      await b.markAsFailure(other, new Error("x"), { request: { name: "t.other" }, now: new Date(t0 + 500) });
    });

    it("stats --json gives queue time and run time per task name (p50, p95, max); a task never sent has run time only", async () => {
      const result = await cli(["--url", url, "--json", "stats"]);
      assert.equal(result.code, 0, result.stderr);
      const { timings } = JSON.parse(result.stdout);
      assert.deepEqual(timings, [
        {
          name: "t.fast",
          queue: { count: 20, p50: 10_000, p95: 19_000, max: 20_000 },
          run: { count: 20, p50: 20_000, p95: 38_000, max: 40_000 },
        },
        { name: "t.other", queue: null, run: { count: 1, p50: 500, p95: 500, max: 500 } },
      ]);
    });

    it("stats prints the queue and run time table as text", async () => {
      const text = await cli(["--url", url, "stats"]);
      assert.match(text.stdout, /queue and run time/);
      assert.match(text.stdout, /t\.fast\s+20\s+10\.0 s\s+19\.0 s\s+20\.0 s\s+20\s+20\.0 s\s+38\.0 s\s+40\.0 s/);
    });

    it("stats --until before every task gives no timings", async () => {
      const outside = JSON.parse((await cli(["--url", url, "--json", "stats", "--until", new Date(t0 - 1000).toISOString()])).stdout);
      assert.deepEqual(outside.timings, []);
    });
  });
}
