/**
 * Waking moves into the database (any writer's commit wakes a waiter; only ids someone
 * waits for are notified) and every state change is kept by triggers, on both dialects.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { AsyncResult, states } from "../../src/index.js";
import { spyDriver, type DriverSpy } from "../helpers/driver-spy.js";
import { hasFact } from "../helpers/harness.js";
import type { SuiteContext } from "./suite.js";

const id = () => randomUUID();
const DAY = 86_400_000;
// An interval far beyond the timeout: only a pushed wake-up can end the wait in time.
const PUSH_ONLY = { interval: 3_600_000, timeout: 30_000 } as const;

export function historySuite(ctx: SuiteContext): void {
  describe("waking on any writer's commit", () => {
    it(
      "a waiter wakes on a plain SQL UPDATE made outside taskledger",
      {
        skip:
          !hasFact(ctx.harness, "otherWritersPushed") &&
          "Citus runs triggers on the worker holding the shard, where a NOTIFY never reaches the coordinator's LISTEN (and breaks a two-phase commit): other writers' commits are seen at the waiter's re-read (test/citus/citus.citus.test.ts measures it)",
      },
      async () => {
        const spy = spyDriver();
        const b = await ctx.openOver(ctx.url(), {}, spy.over);
        const task = id();
        await b.markAsStarted(task);
        const firstRead = readOnce(spy);
        const waiting = new AsyncResult(task, b).get(PUSH_ONLY).then((value) => ({ value, wokeAt: performance.now() }));
        // get() has read the STARTED row and waits: only a wake-up can end it now.
        assert.equal(await firstRead, "STARTED");
        await ctx.harness.execRaw(
          ctx.url(),
          `UPDATE celery_taskmeta SET status = 'SUCCESS', result = NULL, date_done = '2026-01-01 00:00:00' WHERE task_id = '${task}'`,
        );
        const committedAt = performance.now();
        const { value, wokeAt } = await waiting;
        assert.equal(value, null);
        if (ctx.harness.capabilities.pushedChanges) {
          // The required bound, under 100 ms: the notify trigger, not the hour-long re-read, woke it.
          assert.ok(wokeAt - committedAt < 100, `woke ${Math.round(wokeAt - committedAt)} ms after the commit`);
        }
      },
    );

    it(
      "a commit for an id nobody waits on sends no notification",
      { skip: !ctx.harness.capabilities.pushedChanges && "no pushed changes (capabilities.pushedChanges)" },
      async () => {
        const b = ctx.backend();
        const listener = await ctx.harness.listen(ctx.url(), "taskledger_celery_taskmeta");
        try {
          const waited = id();
          const unwaited = id();
          const subscription = await b.subscribe([waited]);
          try {
            await b.markAsDone(unwaited, 1);
            await b.storeMany([{ taskId: id(), status: states.SUCCESS, result: 2 }]);
            await ctx.harness.execRaw(
              ctx.url(),
              `INSERT INTO celery_taskmeta (task_id, status, date_done) VALUES ('${id()}', 'SUCCESS', '2026-01-01 00:00:00')`,
            );
            await b.markAsDone(waited, 3);
            // Notifications arrive in commit order: once the waited id's is here, any earlier one would be too.
            assert.deepEqual(JSON.parse(await listener.next()), [waited]);
            assert.deepEqual(listener.received, [JSON.stringify([waited])]);
          } finally {
            subscription.close();
          }
        } finally {
          await listener.close();
        }
      },
    );
  });

  describe("history of every state change", () => {
    it("keeps one event per change of state and per retry attempt, with the exception of each failed attempt", async () => {
      const b = ctx.backend();
      const task = id();
      const request = { name: "reports.generate", worker: "w1", queue: "q1", retries: 0 };
      const t0 = Date.now() - 60_000;
      const at = (s: number) => ({ now: new Date(t0 + s * 1000) });
      await b.markAsSent(task, { name: "reports.generate", queue: "q1" }, at(0));
      await b.markAsStarted(task, null, { request, ...at(2) });
      await b.markAsRetry(task, new RangeError("flaky"), { request, ...at(3) });
      await b.markAsRetry(task, new RangeError("still flaky"), { request: { ...request, retries: 1 }, ...at(4) });
      await b.markAsStarted(task, null, { request: { ...request, worker: "w2", retries: 2 }, ...at(5) });
      await b.markAsDone(task, { ok: true }, { request: { ...request, worker: "w2", retries: 2 }, ...at(9) });
      await b.markAsStarted(task, null, at(10)); // refused by the precedence guard: no event

      const events = await new AsyncResult(task, b).history();
      assert.deepEqual(
        events.map((e) => e.status),
        ["PENDING", "STARTED", "RETRY", "RETRY", "STARTED", "SUCCESS"],
      );
      assert.deepEqual(
        events.map((e) => e.date.getTime() - t0),
        [0, 2000, 3000, 4000, 5000, 9000],
      );
      assert.deepEqual(
        events.map((e) => e.worker),
        [null, "w1", "w1", "w1", "w2", "w2"],
      );
      assert.deepEqual(
        events.map((e) => e.retries),
        [null, 0, 0, 1, 2, 2],
      );
      assert.deepEqual(
        events.map((e) => e.queue),
        ["q1", "q1", "q1", "q1", "q1", "q1"],
      );
      assert.ok(events[2]!.error instanceof RangeError);
      assert.equal(events[2]!.error.message, "flaky");
      assert.equal(events[3]!.error?.message, "still flaky");
      assert.match(events[2]!.traceback ?? "", /RangeError: flaky/);
      assert.deepEqual([events[1]!.error, events[5]!.error, events[5]!.traceback], [null, null, null]);
      assert.deepEqual(await b.getTaskHistory(id()), []);
    });

    it("records writes made outside taskledger, and a producer's PENDING never undoes a worker's STARTED", async () => {
      const b = ctx.backend();
      const task = id();
      await ctx.harness.insertCeleryStarted(ctx.url(), task);
      await b.markAsSent(task, { name: "late.producer" });
      // Celery's own stamp, a little after its STARTED event (an earlier one would be moved up to it).
      const doneAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
      await ctx.harness.execRaw(
        ctx.url(),
        `UPDATE celery_taskmeta SET status = 'FAILURE', result = NULL, traceback = 'Traceback: boom', date_done = '${doneAt.toISOString().slice(0, 19).replace("T", " ")}' WHERE task_id = '${task}'`,
      );
      const events = await b.getTaskHistory(task);
      assert.deepEqual(
        events.map((e) => e.status),
        ["STARTED", "FAILURE"],
      );
      assert.equal(events[1]!.date.toISOString(), doneAt.toISOString(), "a writer's date_done is the change time");
      assert.equal(events[1]!.traceback, "Traceback: boom");
      assert.ok(Math.abs(events[0]!.date.getTime() - Date.now()) < 60_000, "without a stamp, the database clock");
    });

    it("a batch store records one event per row, and decodes stored exceptions", async () => {
      const b = ctx.backend();
      const ids = Array.from({ length: 50 }, () => id());
      await b.storeMany(ids.map((taskId) => ({ taskId, status: states.STARTED })));
      await b.storeMany(
        ids.map((taskId, i) =>
          i % 2 ? { taskId, status: states.SUCCESS, result: i } : { taskId, status: states.FAILURE, result: new TypeError(`bad ${i}`) },
        ),
      );
      for (const [i, taskId] of ids.entries()) {
        const events = await b.getTaskHistory(taskId);
        assert.deepEqual(
          events.map((e) => e.status),
          ["STARTED", i % 2 ? "SUCCESS" : "FAILURE"],
        );
        if (i % 2 === 0) assert.equal(events[1]!.error?.message, `bad ${i}`);
      }
    });

    it("history goes with its task on forget and on cleanup, and other tasks keep theirs", async () => {
      const b = ctx.backend();
      const [forgotten, expired, kept] = [id(), id(), id()];
      await b.markAsStarted(forgotten);
      await b.markAsDone(forgotten, 1);
      await b.markAsStarted(expired, null, { now: new Date(Date.now() - 30 * DAY) });
      await b.markAsDone(expired, 1, { now: new Date(Date.now() - 30 * DAY) });
      await b.markAsStarted(kept);
      await b.markAsDone(kept, 1);
      assert.equal((await b.getTaskHistory(forgotten)).length, 2);
      assert.equal((await b.getTaskHistory(expired)).length, 2);
      await b.forget(forgotten);
      assert.deepEqual(await b.getTaskHistory(forgotten), []);
      const report = await b.cleanup({ expires: "20d" });
      assert.ok(report.tasks >= 1);
      assert.deepEqual(await b.getTaskHistory(expired), []);
      assert.equal((await b.getTaskHistory(kept)).length, 2);
    });

    it("with history off nothing is written, and switching it back on records again", async () => {
      const url = await ctx.harness.freshUrl("history_off");
      const off = await ctx.open(url, { history: false });
      assert.equal(await off.historyEnabled(), false);
      const task = id();
      await off.markAsStarted(task);
      await off.markAsDone(task, 1);
      await off.storeMany([{ taskId: id(), status: states.SUCCESS }]);
      assert.deepEqual(await off.getTaskHistory(task), []);
      assert.equal(await ctx.harness.countRows(url, "celery_taskmeta_history"), 0);
      // Reopening with the default leaves the database as it is, even when a pending migration
      // re-creates a history trigger (as 0005_history_order does on SQLite for a database
      // migrated before it).
      await ctx.harness.execRaw(url, "DELETE FROM taskledger_migrations WHERE tag = '0005_history_order'");
      const reopened = await ctx.open(url);
      assert.equal(await reopened.historyEnabled(), false);
      assert.ok((await reopened.migrationStatus()).applied.includes("0005_history_order"));
      const stillOff = id();
      await reopened.markAsStarted(stillOff);
      await reopened.markAsDone(stillOff, 1);
      assert.equal(await ctx.harness.countRows(url, "celery_taskmeta_history"), 0, "no trigger of history came back");
      const on = await ctx.open(url, { history: true });
      assert.equal(await on.historyEnabled(), true);
      const later = id();
      await on.markAsDone(later, 1);
      assert.deepEqual(
        (await on.getTaskHistory(later)).map((e) => e.status),
        ["SUCCESS"],
      );
      // The triggers switched back on are the latest ones: events stay in time order.
      const t0 = Date.now() - 60_000;
      const again = id();
      await on.markAsStarted(again, null, { now: new Date(t0 + 5_000) });
      await on.markAsRetry(again, new Error("late"), { now: new Date(t0 + 3_000) });
      assert.deepEqual(
        (await on.getTaskHistory(again)).map((e) => e.date.getTime() - t0),
        [5_000, 5_000],
      );
    });

    it("an event stamped before the task's previous event, but written after it, is dated no earlier", async () => {
      // What concurrent writers do: a writer stamps its time, then waits (for a pool connection,
      // for the row lock, for SQLite's write lock) while a later-stamped writer commits first.
      const b = ctx.backend();
      const task = id();
      const t0 = Date.now() - 60_000;
      const at = (s: number) => ({ now: new Date(t0 + s * 1000) });
      await b.markAsStarted(task, null, { request: { retries: 0 }, ...at(5) });
      await b.markAsRetry(task, new Error("stamped earlier"), { request: { retries: 1 }, ...at(3) });
      await b.markAsRetry(task, new Error("in order"), { request: { retries: 2 }, ...at(7) });
      await b.markAsDone(task, 1, at(9));
      assert.deepEqual(
        (await b.getTaskHistory(task)).map((e) => [e.status, e.date.getTime() - t0]),
        [
          ["STARTED", 5_000],
          ["RETRY", 5_000],
          ["RETRY", 7_000],
          ["SUCCESS", 9_000],
        ],
      );
    });
  });
}

/** Resolves with the status get()'s first read saw, once that read is done. */
function readOnce(spy: DriverSpy): Promise<string | null> {
  return new Promise((resolve) => {
    const remove = spy.intercept("taskGetMany", async (original, ids) => {
      const rows = await original(ids);
      remove();
      queueMicrotask(() => resolve(rows[0]?.status ?? null));
      return rows;
    });
  });
}
