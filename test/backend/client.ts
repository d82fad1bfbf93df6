import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import {
  allowJoinResult,
  AsyncResult,
  BackendClosedError,
  EagerResult,
  GroupResult,
  RemoteError,
  resultFromTuple,
  ResultSet,
  runTask,
  states,
  TaskRevokedError,
  TimeoutError,
  WouldBlockError,
} from "../../src/index.js";
import { runFixture } from "../helpers/spawn.js";
import { spyDriver } from "../helpers/driver-spy.js";
import type { SuiteContext } from "./suite.js";
import { untilWaiting } from "../helpers/waiting.js";

const id = () => randomUUID();
// Waits below use an interval far longer than their timeout: a result can only arrive in time
// through a pushed wake-up, never through the fallback re-read.
const PUSH_ONLY = { interval: 120_000, timeout: 60_000 } as const;

export function clientSuite(ctx: SuiteContext): void {
  describe("AsyncResult", () => {
    it("get() returns promptly when a worker in another process stores the result", async () => {
      const task = id();
      const result = new AsyncResult<{ id: string }>(task, ctx.backend());
      const worker = runFixture("delayed-store.ts", [ctx.url(), "300", "done", task]);
      const value = await result.get(PUSH_ONLY);
      assert.equal(value.id, task);
      assert.equal((await worker).code, 0);
    });

    it("get() rethrows a failure from another process with its type and remote traceback", async () => {
      const task = id();
      const worker = runFixture("delayed-store.ts", [ctx.url(), "200", "fail", task]);
      const result = new AsyncResult(task, ctx.backend());
      await assert.rejects(result.get(PUSH_ONLY), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.equal(e.message, `failed ${task}`);
        const remote = e as TypeError & { excType: string; remoteTraceback: string };
        assert.equal(remote.excType, "TypeError");
        assert.match(remote.remoteTraceback, /delayed-store/);
        assert.match(e.stack ?? "", /remote traceback/);
        return true;
      });
      await worker;
    });

    it("get() with propagate false returns the error; REVOKED throws TaskRevokedError", async () => {
      const b = ctx.backend();
      const failed = id();
      await b.markAsFailure(failed, new RangeError("out of range"));
      const error = await new AsyncResult(failed, b).get({ propagate: false, timeout: 1000 });
      assert.ok(error instanceof RangeError);
      const revoked = id();
      await b.markAsRevoked(revoked, "no longer needed");
      await assert.rejects(new AsyncResult(revoked, b).get({ timeout: 1000 }), TaskRevokedError);
      const custom = id();
      await b.storeResult(custom, { exc_type: "ValueError", exc_message: ["bad"], exc_module: "builtins" }, states.FAILURE);
      await assert.rejects(new AsyncResult(custom, b).get(), (e: unknown) => e instanceof RemoteError && e.excType === "ValueError");
    });

    it("get() times out with a TimeoutError naming the task and the time waited", async () => {
      const task = id();
      let intervals = 0;
      await assert.rejects(
        new AsyncResult(task, ctx.backend()).get({ timeout: 250, interval: 50, onInterval: () => intervals++ }),
        (e: unknown) => {
          assert.ok(e instanceof TimeoutError);
          assert.equal(e.taskId, task);
          assert.ok(e.waitedMs >= 250, String(e.waitedMs));
          assert.match(e.message, new RegExp(task));
          return true;
        },
      );
      assert.ok(intervals >= 2);
      assert.equal(ctx.backend().waiterCount, 0, "the waiter unsubscribed");
    });

    it("once ready, a result is cached and never read again", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false }, spy.over);
      const task = id();
      await b.markAsDone(task, 7);
      const result = new AsyncResult(task, b);
      assert.equal(await result.get(), 7);
      const calls = spy.count(["taskGet", "taskGetMany"]);
      assert.equal(await result.state(), states.SUCCESS);
      assert.equal(await result.get(), 7);
      assert.equal(await result.result(), 7);
      assert.deepEqual(calls(), { taskGet: 0, taskGetMany: 0 });
    });

    it("exposes state, extended fields, exists and forget", async () => {
      const b = ctx.backend();
      const task = id();
      const result = new AsyncResult(task, b);
      assert.equal(await result.state(), states.PENDING);
      assert.equal(await result.exists(), false);
      assert.equal(await result.ready(), false);
      await b.markAsDone(task, "v", { request: { name: "t.x", args: [1], kwargs: { k: 2 }, worker: "w", retries: 1, queue: "q" } });
      assert.equal(await result.successful(), true);
      assert.equal(await result.failed(), false);
      assert.deepEqual(
        [
          await result.name(),
          await result.args(),
          await result.kwargs(),
          await result.worker(),
          await result.retries(),
          await result.queue(),
        ],
        ["t.x", [1], { k: 2 }, "w", 1, "q"],
      );
      assert.ok((await result.dateDone()) instanceof Date);
      assert.equal(await result.info(), "v");
      await result.forget();
      assert.equal(await result.exists(), false);
    });

    it("forget() deletes a result and its parents in one call", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false }, spy.over);
      try {
        const [root, middle, leaf] = [id(), id(), id()];
        for (const task of [root, middle, leaf]) await b.markAsDone(task, task);
        const chained = new AsyncResult(leaf, b, new AsyncResult(middle, b, new AsyncResult(root, b)));
        assert.equal(await chained.get(), leaf);
        const forgets = spy.count(["taskForget"]);
        await chained.forget();
        assert.deepEqual(forgets(), { taskForget: 1 }, "one statement for the whole chain");
        for (const task of [root, middle, leaf]) assert.equal(await new AsyncResult(task, b).exists(), false, task);
        assert.equal(await chained.state(), states.PENDING, "no cached outcome survives forget");
      } finally {
        await b.close();
      }
    });

    it("closing the backend fails pending and later calls with BackendClosedError", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false });
      const waiting = new AsyncResult(id(), b).get(PUSH_ONLY);
      await untilWaiting(b, 1, [waiting]);
      await b.close();
      await assert.rejects(waiting, BackendClosedError);
      await assert.rejects(b.getTaskMeta(id()), BackendClosedError);
      await b.close(); // idempotent
    });

    it("on a closed backend get() and GroupResult.join() throw BackendClosedError, not a driver's TypeError, and open nothing", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false });
      await b.close();
      const listeners = await ctx.harness.listenerCount(ctx.url());
      await assert.rejects(new AsyncResult(id(), b).get({ timeout: 1000 }), BackendClosedError);
      await assert.rejects(new GroupResult(id(), [new AsyncResult(id(), b)], b).join({ timeout: 1000 }), BackendClosedError);
      await assert.rejects(new AsyncResult(id(), b).state(), BackendClosedError);
      assert.equal(b.waiterCount, 0);
      assert.equal(await ctx.harness.listenerCount(ctx.url()), listeners, "a wait on a closed backend opened a LISTEN connection");
    });

    it("is not a thenable: awaiting it gives the result object, and promise() gives the value", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsDone(task, 3);
      const result = new AsyncResult(task, b);
      assert.equal("then" in result, false);
      const awaited = await (async () => result)();
      assert.equal(awaited, result);
      assert.equal(await result.promise(), 3);
    });

    it("asTuple and resultFromTuple round-trip results, parents and groups", () => {
      const b = ctx.backend();
      const parent = new AsyncResult("p1", b);
      const child = new AsyncResult("c1", b, parent);
      assert.deepEqual(child.asTuple(), [["c1", [["p1", null], null]], null]);
      const back = resultFromTuple(child.asTuple(), b) as AsyncResult;
      assert.equal(back.id, "c1");
      assert.equal(back.parent?.id, "p1");
      const group = new GroupResult("g1", ["a", "b"], b);
      const groupBack = resultFromTuple(group.asTuple(), b) as GroupResult;
      assert.equal(groupBack.id, "g1");
      assert.deepEqual(
        groupBack.results.map((r) => r.id),
        ["a", "b"],
      );
      assert.equal((resultFromTuple("x", b) as AsyncResult).id, "x");
    });

    it("many thousands of concurrent waiters share one change watch, not a connection each", async () => {
      const before = await ctx.harness.connectionCount(ctx.url());
      const b = await ctx.open(ctx.url(), { migrate: false, poolSize: 4 });
      const ids = Array.from({ length: 3000 }, id);
      const waiting = ids.map((task) => new AsyncResult(task, b).get(PUSH_ONLY));
      await untilWaiting(b, ids.length, waiting, 60_000);
      const opened = (await ctx.harness.connectionCount(ctx.url())) - before;
      assert.ok(opened <= 4 + 1, `${opened} connections for 3000 waiters: more than the pool (4) and one listener`);
      const writer = await ctx.open(ctx.url(), { migrate: false });
      await writer.storeMany(ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: taskId })));
      const values = await Promise.all(waiting);
      assert.deepEqual(values, ids);
      assert.equal(b.waiterCount, 0);
    });
  });

  describe("pushed wake-ups", () => {
    it("a dropped LISTEN connection is re-opened and waiters still wake on the next commit", async (t) => {
      const b = await ctx.open(ctx.url(), { migrate: false });
      if (!b.capabilities.pushedChanges) return t.skip("no pushed changes (capabilities.pushedChanges): waiters re-check instead");
      const task = id();
      const waiting = new AsyncResult(task, b).get(PUSH_ONLY);
      await untilWaiting(b, 1, [waiting]);
      assert.ok((await ctx.harness.dropListeners(ctx.url())) >= 1, "no listener connection to drop");
      while ((await ctx.harness.listenerCount(ctx.url())) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      const worker = await runFixture("delayed-store.ts", [ctx.url(), "0", "done", task]);
      assert.equal(worker.code, 0, worker.stderr);
      assert.equal(((await waiting) as { id: string }).id, task);
    });
  });

  describe("worker side (runTask) and the join guard", () => {
    it("runs the function and records STARTED then SUCCESS with the request", async () => {
      const b = ctx.backend();
      const task = id();
      const seen: string[] = [];
      const outcome = await runTask(
        b,
        { id: task, name: "math.add", args: [2, 3], worker: "w1", queue: "q" },
        async (c) => {
          seen.push((await b.getTaskMeta(c.id)).status);
          return 5;
        },
        { trackStarted: true },
      );
      assert.deepEqual(outcome, { taskId: task, status: states.SUCCESS, result: 5 });
      assert.deepEqual(seen, [states.STARTED]);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.SUCCESS);
      assert.equal(meta.name, "math.add");
      assert.deepEqual(meta.args, [2, 3]);
    });

    it("records FAILURE with the error and its stack", async () => {
      const b = ctx.backend();
      const task = id();
      const outcome = await runTask(b, { id: task, name: "boom" }, () => {
        throw new SyntaxError("bad syntax");
      });
      assert.equal(outcome.status, states.FAILURE);
      const meta = await b.getTaskMeta(task);
      assert.ok(meta.result instanceof SyntaxError);
      assert.match(meta.traceback ?? "", /SyntaxError: bad syntax\n\s+at /);
    });

    it("records RETRY when the function asks for a retry, with retries counted", async () => {
      const b = ctx.backend();
      const task = id();
      const outcome = await runTask(b, { id: task, retries: 2 }, (c) => c.retry({ reason: new Error("flaky"), countdown: "5s" }));
      assert.equal(outcome.status, states.RETRY);
      assert.equal(outcome.status === states.RETRY && outcome.countdownMs, 5000);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.RETRY);
      assert.equal(meta.retries, 3);
      assert.equal((meta.result as Error).message, "flaky");
    });

    it("a task revoked before it starts is not run", async () => {
      const b = ctx.backend();
      const task = id();
      assert.equal(await new AsyncResult(task, b).revoke("cancelled"), true);
      let ran = false;
      const outcome = await runTask(b, { id: task }, () => {
        ran = true;
      });
      assert.deepEqual(outcome, { taskId: task, status: states.REVOKED, ran: false });
      assert.equal(ran, false);
    });

    it("revoke of a finished task records nothing", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsDone(task, 1);
      assert.equal(await new AsyncResult(task, b).revoke(), false);
      assert.equal((await b.getTaskMeta(task)).status, states.SUCCESS);
    });

    it("a running task sees its AbortSignal fire when another connection revokes it", async () => {
      const b = ctx.backend();
      const other = await ctx.open(ctx.url(), { migrate: false });
      const task = id();
      // Kept, and awaited below: the NOTIFY can wake the task before the revoking call has its
      // reply, and the test's end closes `other`.
      let revoking: Promise<boolean> | undefined;
      const outcome = runTask(
        b,
        { id: task },
        (c) =>
          new Promise((resolve, reject) => {
            c.signal.addEventListener("abort", () => reject(c.signal.reason));
            setTimeout(() => {
              revoking = new AsyncResult(task, other).revoke("stop now");
            }, 100);
            setTimeout(resolve, 60_000).unref();
          }),
        { trackStarted: true, revokeCheckInterval: 120_000 },
      );
      assert.deepEqual(await outcome, { taskId: task, status: states.REVOKED, ran: true });
      assert.equal(await revoking, true);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.REVOKED);
      assert.equal((meta.result as Error).message, "stop now");
    });

    it("get() inside a task throws WouldBlockError unless allowed", async () => {
      const b = ctx.backend();
      const done = id();
      await b.markAsDone(done, "x");
      const outcome = await runTask(b, { id: id() }, async () => {
        await assert.rejects(new AsyncResult(done, b).get(), WouldBlockError);
        await assert.rejects(new ResultSet([done], b).join(), WouldBlockError);
        await assert.rejects(new EagerResult("e", 1).get(), WouldBlockError);
        const optedOut = await new AsyncResult(done, b).get({ disableSyncSubtasks: false });
        const allowed = await allowJoinResult(() => new AsyncResult(done, b).get());
        return [optedOut, allowed];
      });
      assert.deepEqual(outcome, { taskId: outcome.taskId, status: states.SUCCESS, result: ["x", "x"] });
      assert.equal(await new AsyncResult(done, b).get(), "x", "outside a task get() is allowed");
    });

    it("collect walks a stored tree of children breadth first, and times out on a node that never finishes", async () => {
      const b = ctx.backend();
      const [root, a, b1, a1, a2] = [id(), id(), id(), id(), id()];
      await runTask(b, { id: a1, parentId: a }, () => "a1");
      await runTask(b, { id: a2, parentId: a }, () => "a2");
      await runTask(b, { id: a, parentId: root }, (c) => (c.addChild(a1), c.addChild(a2), "a"));
      await runTask(b, { id: b1, parentId: root }, () => "b1");
      await runTask(b, { id: root }, (c) => (c.addChild(a), c.addChild(b1), "root"));
      const seen: [string, unknown][] = [];
      for await (const [node, value] of new AsyncResult(root, b).collect()) seen.push([node.id, value]);
      assert.deepEqual(seen, [
        [root, "root"],
        [a, "a"],
        [b1, "b1"],
        [a1, "a1"],
        [a2, "a2"],
      ]);
      assert.equal((await new AsyncResult(a1, b).getParent())?.id, a);
      assert.deepEqual(
        (await new AsyncResult(a, b).children()).map((r) => r.id),
        [a1, a2],
      );

      const unreadyRoot = id();
      const pendingChild = id();
      await b.markAsDone(unreadyRoot, "r", { request: { children: [pendingChild] } });
      const walk = async () => {
        for await (const _ of new AsyncResult(unreadyRoot, b).collect({ timeout: 300, interval: 50 })) void _;
      };
      await assert.rejects(walk(), (e: unknown) => e instanceof TimeoutError && e.taskId === pendingChild);
    });
  });

  describe("ResultSet and GroupResult", () => {
    it("a group of 200 is saved, restored and joined with one query per poll", async () => {
      const spy = spyDriver();
      const client = await ctx.openOver(ctx.url(), { migrate: false }, spy.over);
      const ids = Array.from({ length: 200 }, id);
      const group = new GroupResult(id(), ids, client);
      await group.save();
      const restored = await GroupResult.restore(group.id, client);
      assert.ok(restored);
      assert.deepEqual(
        restored.results.map((r) => r.id),
        ids,
      );
      const polls: number[] = [];
      spy.intercept("taskGetMany", (original, taskIds) => (polls.push(taskIds.length), original(taskIds)));
      const single = spy.count(["taskGet"]);
      // Two workers in other processes finish the halves at different times.
      const workers = [
        runFixture("delayed-store.ts", [ctx.url(), "100", "done", ids.slice(0, 100).join(",")]),
        runFixture("delayed-store.ts", [ctx.url(), "600", "done", ids.slice(100).join(",")]),
      ];
      const values = (await restored.join(PUSH_ONLY)) as { id: string }[];
      assert.deepEqual(
        values.map((v) => v.id),
        ids,
      );
      assert.deepEqual(single(), { taskGet: 0 });
      assert.ok(polls.length >= 2, `polled ${polls.length} times`);
      assert.equal(polls[0], 200, "the first poll reads every member in one query");
      assert.ok(
        polls.slice(1).every((n) => n <= 200 && n > 0),
        "later polls read only unready members",
      );
      for (const w of await Promise.all(workers)) assert.equal(w.code, 0, w.stderr);
      assert.equal(await restored.completedCount(), 200);
      assert.equal(await restored.delete(), true);
      assert.equal(await GroupResult.restore(group.id, client), null);
    });

    it("join throws the first failure without waiting for the rest, or returns errors without propagate", async () => {
      const b = ctx.backend();
      const [ok, bad, never] = [id(), id(), id()];
      await b.markAsDone(ok, 1);
      await b.markAsFailure(bad, new TypeError("member failed"));
      const set = new ResultSet([ok, bad, never], b);
      await assert.rejects(set.join({ timeout: 60_000 }), (e: unknown) => e instanceof TypeError && e.message === "member failed");
      assert.equal(await set.failed(), true);
      assert.equal(await set.waiting(), true);
      await assert.rejects(
        set.join({ propagate: false, timeout: 200, interval: 50 }),
        (e: unknown) => e instanceof TimeoutError && e.taskId === never && /1 of 3/.test(e.message),
      );
      await b.markAsDone(never, 3);
      const values = await set.join({ propagate: false });
      assert.equal(values[0], 1);
      assert.ok(values[1] instanceof TypeError);
      assert.equal(values[2], 3);
    });

    it("membership and status helpers behave like Celery's", async () => {
      const b = ctx.backend();
      const [x, y, z] = [id(), id(), id()];
      const set = new ResultSet([x], b);
      set.add(y);
      set.add(x);
      set.update([z, y]);
      assert.deepEqual(
        set.results.map((r) => r.id),
        [x, y, z],
      );
      assert.equal(set.discard(z), true);
      assert.equal(set.discard(z), false);
      assert.throws(() => set.remove(z));
      assert.equal(await set.ready(), false);
      await b.storeMany([
        { taskId: x, status: states.SUCCESS, result: 1 },
        { taskId: y, status: states.SUCCESS, result: 2 },
      ]);
      assert.equal(await set.ready(), true);
      assert.equal(await set.successful(), true);
      assert.equal(await set.completedCount(), 2);
      assert.equal(set.length, 2);
      await set.forget();
      assert.equal(await b.exists(x), false);
      set.clear();
      assert.equal(set.length, 0);
    });

    it("revoke on a set revokes only the unfinished members", async () => {
      const b = ctx.backend();
      const [done, running] = [id(), id()];
      await b.markAsDone(done, 1);
      await b.markAsStarted(running);
      assert.equal(await new ResultSet([done, running], b).revoke(), 1);
      assert.equal((await b.getTaskMeta(running)).status, states.REVOKED);
    });

    it("iterate yields members as they complete, one query per poll", async () => {
      const b = ctx.backend();
      const ids = [id(), id(), id()];
      await b.markAsDone(ids[1]!, "first");
      const worker = runFixture("delayed-store.ts", [ctx.url(), "200", "done", `${ids[2]},${ids[0]}`]);
      const order: string[] = [];
      for await (const [result] of new ResultSet(ids, b).iterate(PUSH_ONLY)) order.push(result.id);
      assert.equal(order[0], ids[1]);
      assert.deepEqual([...order].sort(), [...ids].sort());
      await worker;
    });
  });

  describe("EagerResult", () => {
    it("is always ready, returns its value, and throws a captured failure", async () => {
      const ok = await EagerResult.run(() => 42, { name: "eager.add" });
      assert.equal(await ok.ready(), true);
      assert.equal(await ok.get(), 42);
      assert.equal(await ok.name(), "eager.add");
      const failed = await EagerResult.run(() => {
        throw new RangeError("eager boom");
      });
      assert.equal(await failed.state(), states.FAILURE);
      await assert.rejects(failed.get(), RangeError);
      assert.ok((await failed.get({ propagate: false })) instanceof RangeError);
      await ok.revoke();
      assert.equal(await ok.state(), states.REVOKED);
      await assert.rejects(ok.get(), TaskRevokedError);
    });
  });
}
