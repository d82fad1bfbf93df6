import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { CleanupLockedError, states, type CleanupProgress, type DatabaseBackend } from "../../src/index.js";
import { withDriver } from "../helpers/driver-spy.js";
import type { SuiteContext } from "./suite.js";

const DAY = 86_400_000;

export function expirySuite(ctx: SuiteContext): void {
  describe("cleanup", () => {
    let b: DatabaseBackend;
    let url: string;
    before(async () => {
      url = await ctx.harness.freshUrl("expiry");
      b = await ctx.open(url, { resultExpires: "1d" });
    });

    /** Stores `count` results that became ready `ageMs` ago. */
    async function storeAged(count: number, ageMs: number, status: string = states.SUCCESS): Promise<string[]> {
      const ids = Array.from({ length: count }, () => randomUUID());
      await b.storeMany(
        ids.map((taskId) => ({ taskId, status, result: 1 })),
        { now: new Date(Date.now() - ageMs) },
      );
      return ids;
    }

    async function countExisting(ids: string[]): Promise<number> {
      const metas = await b.getManyTaskMeta(ids);
      return [...metas.values()].filter((m) => !(m instanceof Error) && m.exists).length;
    }

    it("deletes task and group rows older than resultExpires in bounded batches, and keeps the rest", async () => {
      const old = await storeAged(25, 2 * DAY);
      const fresh = await storeAged(10, DAY / 2);
      const unready = Array.from({ length: 3 }, () => randomUUID());
      for (const id of unready) await b.markAsStarted(id, null, { now: new Date(Date.now() - 10 * DAY) });
      await b.saveGroup("old-group", old.slice(0, 3), { now: new Date(Date.now() - 2 * DAY) });
      await b.saveGroup("new-group", fresh.slice(0, 3));
      const progress: CleanupProgress[] = [];
      const report = await b.cleanup({ batchSize: 10, onProgress: (p) => progress.push(p) });
      assert.equal(report.tasks, 25);
      assert.equal(report.groups, 1);
      assert.equal(report.complete, true);
      const taskBatches = progress.filter((p) => p.phase === "tasks").map((p) => p.batch);
      assert.deepEqual(taskBatches, [10, 10, 5]);
      assert.ok(progress.every((p) => p.batch <= 10));
      assert.equal(await countExisting(old), 0);
      assert.equal(await countExisting(fresh), 10);
      assert.equal(await countExisting(unready), 3, "unready rows have no date_done and are not expired");
      assert.equal(await b.restoreGroup("old-group"), null);
      assert.ok(await b.restoreGroup("new-group"));
      await b.forget([...fresh, ...unready]);
    });

    it("expires of null or 0 keeps everything (Celery's 0 deletes everything: #6295)", async () => {
      const old = await storeAged(5, 400 * DAY);
      assert.equal((await b.cleanup({ expires: null })).tasks, 0);
      assert.equal((await b.cleanup({ expires: 0 })).tasks, 0);
      const keeper = await ctx.open(url, { resultExpires: null, migrate: false });
      assert.equal((await keeper.cleanup()).tasks, 0);
      assert.equal(await countExisting(old), 5);
      await b.forget(old);
    });

    it("per-state retention keeps failures longer than successes", async () => {
      const successes = await storeAged(4, 10 * DAY);
      const failures = await storeAged(3, 10 * DAY, states.FAILURE);
      const oldFailures = await storeAged(2, 100 * DAY, states.FAILURE);
      const report = await b.cleanup({ expires: "7d", keep: { FAILURE: "90d" } });
      assert.equal(report.tasks, 6);
      assert.equal(await countExisting(successes), 0);
      assert.equal(await countExisting(failures), 3);
      assert.equal(await countExisting(oldFailures), 0);
      const forever = await storeAged(2, 1000 * DAY, states.REVOKED);
      await b.cleanup({ expires: "7d", keep: { REVOKED: null, FAILURE: "90d" } });
      assert.equal(await countExisting(forever), 2);
      await b.forget([...failures, ...forever]);
    });

    it("stale unready rows are found by date_updated; rows Celery wrote are stamped first and age from then", async () => {
      const staleStarted = randomUUID();
      const freshStarted = randomUUID();
      const celeryStarted = randomUUID();
      await b.markAsStarted(staleStarted, null, { now: new Date(Date.now() - 3 * DAY) });
      await b.markAsStarted(freshStarted, null, { now: new Date(Date.now() - 3_600_000) });
      await ctx.harness.insertCeleryStarted(url, celeryStarted);
      const first = await b.cleanup({ staleAfter: "2d" });
      assert.equal(first.stale, 1);
      assert.equal(first.stamped, 1);
      assert.equal(await b.exists(staleStarted), false);
      assert.equal(await b.exists(freshStarted), true);
      const stamped = await b.getTaskMeta(celeryStarted);
      assert.ok(stamped.dateUpdated, "the Celery row got a date_updated");
      const later = await b.cleanup({ staleAfter: "2d", now: new Date(Date.now() + 3 * DAY) });
      assert.equal(later.stale, 2);
      assert.equal(await b.exists(celeryStarted), false);
    });

    it("maxRuntime stops cleanly between batches", async () => {
      await storeAged(30, 5 * DAY);
      const report = await b.cleanup({ batchSize: 10, maxRuntime: 0 });
      assert.equal(report.complete, false);
      assert.equal(report.tasks, 0);
      assert.equal((await b.cleanup({ batchSize: 10 })).tasks, 30);
    });

    it("a corrupt row is deleted like any other", async () => {
      const [bad] = await storeAged(1, 5 * DAY);
      await ctx.harness.setRaw(url, bad!, "result", Buffer.from([0xff, 0xfe]));
      assert.equal((await b.cleanup()).tasks, 1);
    });

    it("two overlapping cleanups never both run: the second fails with CleanupLockedError or waits", async () => {
      // The lock is held by another driver on the same database, as another backend's run would.
      await withDriver(url, async (driver) => {
        const held = await driver.cleanupLock(false);
        assert.ok(held);
        const other = await ctx.open(url, { migrate: false });
        await assert.rejects(other.cleanup(), (error: unknown) => {
          assert.ok(error instanceof CleanupLockedError, String(error));
          // The refusal says who holds the lock and that it is alive.
          const holder =
            ctx.harness.dialect === "sqlite"
              ? new RegExp(`pid ${process.pid} on this host .*which is alive`)
              : /(?:PostgreSQL session|MySQL connection) \d+ .*which is alive/;
          assert.match(error.message, holder);
          return true;
        });
        let finished = false;
        const waiting = other.cleanup({ lock: "wait" }).then((r) => ((finished = true), r));
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(finished, false, "the waiting cleanup ran while the lock was held");
        await held.release();
        const report = await waiting;
        assert.equal(report.complete, true);
      });
    });
  });
}
