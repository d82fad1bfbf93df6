import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { AsyncResult, BackendClosedError, DatabaseError, openBackend, ResultSet, states, TimeoutError } from "../../src/index.js";
import { openBackendOver } from "../../src/backend/open-backend.js";
import { spyDriver, type DriverSpy } from "../helpers/driver-spy.js";
import { runFixture } from "../helpers/spawn.js";
import type { SuiteContext } from "./suite.js";

/**
 * Makes every read through `spy`'s driver fail with `error` until the returned `heal()`; `reads()`
 * resolves once that many failed reads happened. The outage is the driver's, the database stays real.
 */
function readOutage(spy: DriverSpy, error: () => Error) {
  let failed = 0;
  let down = true;
  const watchers: { n: number; resolve: () => void }[] = [];
  spy.intercept("taskGetMany", async (original, ids) => {
    if (!down) return original(ids);
    failed++;
    for (const w of watchers.filter((w) => failed >= w.n)) w.resolve();
    throw error();
  });
  return {
    reads: (n: number) => new Promise<void>((resolve) => (failed >= n ? resolve() : watchers.push({ n, resolve }))),
    heal: () => void (down = false),
  };
}

export function faultSuite(ctx: SuiteContext): void {
  describe("transient faults and migrations", () => {
    it("a writer retries a transient fault for its whole retry budget, not a fixed number of attempts, and says a repeat is safe", async () => {
      const fault = await ctx.harness.persistentFault(ctx.url());
      try {
        const b = await ctx.open(fault.url, {
          migrate: false,
          busyTimeoutMs: 1,
          retryBudget: "1s",
          retry: { baseDelayMs: 1, maxDelayMs: 10 },
        });
        await assert.rejects(b.markAsDone(randomUUID(), 1), (e: unknown) => {
          assert.ok(e instanceof DatabaseError, String(e));
          assert.equal(e.transient, true);
          assert.ok(e.attempts > 7, `gave up after ${e.attempts} attempts`);
          assert.ok(e.elapsedMs >= 1000, `gave up after ${e.elapsedMs} ms`);
          assert.match(e.message, /may still have committed; stores are idempotent, so repeating the call is safe/);
          return true;
        });
      } finally {
        await fault.release();
      }
    });

    it("retryBudget 0 turns retrying off", async () => {
      const fault = await ctx.harness.persistentFault(ctx.url());
      try {
        const b = await ctx.open(fault.url, { migrate: false, busyTimeoutMs: 1, retryBudget: 0 });
        await assert.rejects(b.markAsDone(randomUUID(), 1), (e: unknown) => e instanceof DatabaseError && e.attempts === 1);
      } finally {
        await fault.release();
      }
    });

    it("a waiter outlives a database outage longer than the retry budget and returns the value once the task completes", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false, retryBudget: "50ms", retry: { baseDelayMs: 2, maxDelayMs: 10 } }, spy.over);
      const task = randomUUID();
      const single = new AsyncResult(task, b).get({ timeout: 60_000, interval: 20 });
      const set = new ResultSet([task], b).join({ timeout: 60_000, interval: 20 });
      await new Promise((resolve) => setImmediate(resolve));
      const outage = readOutage(spy, () => ctx.harness.transientError());
      await outage.reads(40); // both waiters spent several retry budgets in the outage
      await ctx.backend().markAsDone(task, "after the outage");
      outage.heal();
      assert.equal(await single, "after the outage");
      assert.deepEqual(await set, ["after the outage"]);
    });

    it("a waiter in an outage still ends at its own timeout, with the database error as cause", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false, retryBudget: "20ms", retry: { baseDelayMs: 2, maxDelayMs: 10 } }, spy.over);
      readOutage(spy, () => ctx.harness.transientError());
      await assert.rejects(new AsyncResult(randomUUID(), b).get({ timeout: 300, interval: 20 }), (e: unknown) => {
        assert.ok(e instanceof TimeoutError, String(e));
        assert.ok(e.cause instanceof DatabaseError);
        return true;
      });
    });

    it("close() ends a waiter that is waiting out an outage", async () => {
      const spy = spyDriver();
      const b = await openBackendOver(
        { url: ctx.url(), migrate: false, retryBudget: "20ms", retry: { baseDelayMs: 2, maxDelayMs: 10 } },
        spy.over,
      );
      const outage = readOutage(spy, () => ctx.harness.transientError());
      const waiting = new AsyncResult(randomUUID(), b).get({ timeout: 60_000, interval: 50 });
      waiting.catch(() => undefined);
      await outage.reads(5);
      await b.close();
      await assert.rejects(waiting, BackendClosedError);
    });

    it("a non-transient error ends a waiter at once", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false }, spy.over);
      readOutage(spy, () => Object.assign(new Error("permission denied for table celery_taskmeta"), { code: "42501" }));
      await assert.rejects(
        new AsyncResult(randomUUID(), b).get({ timeout: 60_000 }),
        (e: unknown) => e instanceof DatabaseError && !e.transient && e.attempts === 1,
      );
    });

    it("a transient fault (connection reset / busy database) is retried and the store lands once", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false, retry: { maxRetries: 8, baseDelayMs: 20, maxDelayMs: 200 } }, spy.over);
      const task = randomUUID();
      await b.markAsStarted(task);
      const calls = spy.count(["taskStore"]);
      assert.equal(await ctx.harness.withTransientFault(ctx.url(), () => b.markAsDone(task, "after the fault")), true);
      const attempts = calls().taskStore;
      assert.ok(attempts >= 2, `the fault was not met (${attempts} attempt)`);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.SUCCESS);
      assert.equal(meta.result, "after the fault");
    });

    it("when retries run out the error names the operation and the task id", async () => {
      const fault = await ctx.harness.persistentFault(ctx.url());
      try {
        const b = await ctx.open(fault.url, { migrate: false, retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 } });
        const task = randomUUID();
        await assert.rejects(b.markAsDone(task, 1), (e: unknown) => {
          assert.ok(e instanceof DatabaseError, String(e));
          assert.equal(e.operation, "storeResult");
          assert.equal(e.subject, task);
          assert.equal(e.attempts, 3);
          assert.match(e.message, new RegExp(`storeResult for ${task} failed after 3 attempts`));
          return true;
        });
      } finally {
        await fault.release();
      }
    });

    it("ten processes opening a fresh database at once all migrate and store successfully", async () => {
      const url = await ctx.harness.freshUrl("migrate");
      const ids = Array.from({ length: 10 }, () => randomUUID());
      const children = await Promise.all(ids.map((id) => runFixture("open-and-store.ts", [url, id])));
      for (const child of children) assert.equal(child.code, 0, child.stderr);
      const b = await ctx.open(url, { migrate: false });
      const metas = await b.getManyTaskMeta(ids);
      assert.ok([...metas.values()].every((m) => !(m instanceof Error) && m.status === states.SUCCESS));
      const status = await b.migrationStatus();
      assert.deepEqual(status.pending, []);
      assert.equal(status.applied.length, ctx.harness.migrationTags().length);
    });

    it("migrating an up-to-date database is a no-op", async () => {
      const b = await openBackend({ url: ctx.url() });
      try {
        assert.deepEqual((await b.migrate()).pending, []);
        assert.deepEqual((await b.migrationStatus()).pending, []);
      } finally {
        await b.close();
      }
    });
  });
}
