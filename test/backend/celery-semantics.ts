/**
 * Celery semantics a porting user hits, on both dialects: failures travelling down
 * a chain, collect() waiting, callbacks, failed()/revoked(), nested groups, legacy tuples,
 * ignore_result, and EagerResult reading like AsyncResult.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import {
  AsyncResult,
  EagerResult,
  GroupResult,
  IncompleteStreamError,
  RemoteError,
  resultFromTuple,
  ResultSet,
  runTask,
  states,
  TaskRevokedError,
} from "../../src/index.js";
import type { ResultLike } from "../../src/index.js";
import { spyDriver } from "../helpers/driver-spy.js";
import type { SuiteContext } from "./suite.js";
import { untilWaiting } from "../helpers/waiting.js";

const id = () => randomUUID();
// The re-read interval is far longer than the timeout: what ends these waits must be pushed.
const PUSH_ONLY = { interval: 120_000, timeout: 20_000 } as const;

/**
 * Resolves once the backend has at least `n` subscribed waiters; rejects if `operation` settles
 * first (a waiter that never subscribes must fail the test, not hang it).
 */
function waiters(b: { waiterCount: number }, operation: Promise<unknown>, n = 1): Promise<void> {
  return untilWaiting(b, n, [operation]);
}

export function celerySemanticsSuite(ctx: SuiteContext): void {
  describe("Celery semantics", () => {
    it("get() rethrows the error of a failed grandparent, not only of the parent", async () => {
      const b = ctx.backend();
      const [grand, parent, child] = [id(), id(), id()];
      await b.markAsFailure(grand, new RangeError("grandparent failed"));
      const chain = new AsyncResult(child, b, new AsyncResult(parent, b, new AsyncResult(grand, b)));
      await assert.rejects(chain.get({ timeout: 5_000 }), (e: unknown) => e instanceof RangeError && e.message === "grandparent failed");
      await b.markAsRevoked(parent, "parent revoked");
      await assert.rejects(chain.get({ timeout: 5_000 }), RangeError, "the oldest failed ancestor wins, as in Celery");
      await b.markAsDone(child, "value");
      await assert.rejects(chain.get({ timeout: 5_000 }), RangeError, "even once the child itself is ready");
      assert.equal(await chain.get({ followParents: false }), "value");
      assert.equal(await chain.get({ propagate: false }), "value");
      await assert.rejects(new AsyncResult(child, b, new AsyncResult(parent, b)).get(), TaskRevokedError);
    });

    it("get() notices a parent that fails while it waits, through a wake-up", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false });
      const other = await ctx.open(ctx.url(), { migrate: false });
      const [grand, parent, child] = [id(), id(), id()];
      const waiting = new AsyncResult(child, b, new AsyncResult(parent, b, new AsyncResult(grand, b))).get(PUSH_ONLY);
      await waiters(b, waiting);
      await other.markAsDone(grand, 1);
      await other.markAsFailure(parent, new TypeError("parent failed mid-wait"));
      await assert.rejects(waiting, (e: unknown) => e instanceof TypeError && e.message === "parent failed mid-wait");
      assert.equal(b.waiterCount, 0, "the waiter unsubscribed");
    });

    it("ResultSet.failed() is true only for a FAILURE member; revoked() tells a REVOKED one", async () => {
      const b = ctx.backend();
      const [ok, revoked, failed] = [id(), id(), id()];
      await b.markAsDone(ok, 1);
      await b.markAsRevoked(revoked, "stop");
      await b.markAsFailure(failed, new TypeError("boom"));
      const withRevoked = new ResultSet([ok, revoked], b);
      assert.equal(await withRevoked.failed(), false, "a REVOKED member is not a failure, as in Celery");
      assert.equal(await withRevoked.revoked(), true);
      const withFailure = new ResultSet([ok, failed], b);
      assert.equal(await withFailure.failed(), true);
      assert.equal(await withFailure.revoked(), false);
    });

    it("resultFromTuple accepts Celery's legacy [id, children] form", () => {
      const b = ctx.backend();
      const single = resultFromTuple(["t1", null], b);
      assert.ok(single instanceof AsyncResult && !(single instanceof GroupResult));
      assert.equal(single.id, "t1");
      const group = resultFromTuple(
        [
          "g1",
          [
            ["a", null],
            [["b", null], null],
          ],
        ],
        b,
      );
      assert.ok(group instanceof GroupResult);
      assert.equal(group.id, "g1");
      assert.deepEqual(
        group.results.map((r) => r.id),
        ["a", "b"],
      );
      assert.throws(() => resultFromTuple([42, null] as never, b), /not a result tuple/);
    });

    it("ignoreResult on runTask, or on the request, writes nothing; errors only when asked", async () => {
      const b = ctx.backend();
      const [byOption, byRequest, failing, failingKept] = [id(), id(), id(), id()];
      assert.deepEqual(await runTask(b, { id: byOption }, () => 5, { ignoreResult: true, trackStarted: true }), {
        taskId: byOption,
        status: states.SUCCESS,
        result: 5,
      });
      await runTask(b, { id: byRequest, ignoreResult: true }, () => 6);
      const outcome = await runTask(
        b,
        { id: failing },
        () => {
          throw new TypeError("ignored failure");
        },
        { ignoreResult: true },
      );
      assert.equal(outcome.status, states.FAILURE);
      await runTask(
        b,
        { id: failingKept },
        () => {
          throw new TypeError("kept failure");
        },
        { ignoreResult: true, storeErrorsEvenIfIgnored: true },
      );
      assert.deepEqual(await Promise.all([byOption, byRequest, failing].map((t) => b.exists(t))), [false, false, false]);
      assert.equal((await b.getTaskMeta(failingKept)).status, states.FAILURE);
    });

    it("states exports IGNORED and Celery's ALL_STATES", () => {
      assert.equal(states.IGNORED, "IGNORED");
      assert.deepEqual([...states.ALL_STATES].sort(), ["FAILURE", "PENDING", "RECEIVED", "RETRY", "REVOKED", "STARTED", "SUCCESS"]);
      assert.equal(states.ALL_STATES.has(states.IGNORED), false);
    });

    it("a Python exception with several arguments reads as its message, the raw args kept on the error", async () => {
      const b = ctx.backend();
      const [custom, builtin, odd] = [id(), id(), id()];
      await b.storeResult(
        custom,
        { exc_type: "CustomError", exc_message: ["custom boom", 42], exc_module: "myapp.errors" },
        states.FAILURE,
      );
      await b.storeResult(builtin, { exc_type: "TypeError", exc_message: ["bad", 2], exc_module: "builtins" }, states.FAILURE);
      await b.storeResult(odd, { exc_type: "Odd", exc_message: [{ toString: 1 }, null], exc_module: "myapp.errors" }, states.FAILURE);
      await assert.rejects(new AsyncResult(custom, b).get(), (e: unknown) => {
        assert.ok(e instanceof RemoteError);
        assert.equal(e.message, "custom boom, 42");
        assert.deepEqual(e.excMessage, ["custom boom", 42]);
        return true;
      });
      await assert.rejects(new AsyncResult(builtin, b).get(), (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.equal(e.message, "bad, 2");
        assert.deepEqual((e as TypeError & { excMessage: unknown[] }).excMessage, ["bad", 2]);
        return true;
      });
      const error = await new AsyncResult(odd, b).get({ propagate: false });
      assert.equal((error as Error).message, '{"toString":1}, None');
    });

    it("get() and join() call callback(taskId, value); join calls it per member in order and returns []", async () => {
      const b = ctx.backend();
      const [a, c, d] = [id(), id(), id()];
      await b.markAsDone(d, 3);
      await b.markAsDone(a, 1);
      await b.markAsFailure(c, new TypeError("member failed"));
      const seen: [string, unknown][] = [];
      assert.equal(await new AsyncResult(a, b).get({ callback: (taskId, value) => seen.push([taskId, value]) }), 1);
      assert.deepEqual(seen, [[a, 1]]);
      seen.length = 0;
      const set = new ResultSet([a, c, d], b);
      assert.deepEqual(await set.join({ propagate: false, callback: (taskId, value) => seen.push([taskId, value]) }), []);
      assert.deepEqual(
        seen.map(([taskId]) => taskId),
        [a, c, d],
        "member order, not completion order",
      );
      assert.equal(seen[0]![1], 1);
      assert.ok(seen[1]![1] instanceof TypeError);
      assert.equal(seen[2]![1], 3);
    });

    it("maybeThrow({ propagate, callback }) returns the value, or throws the error", async () => {
      const b = ctx.backend();
      const [ok, bad] = [id(), id()];
      await b.markAsDone(ok, "v");
      await b.markAsFailure(bad, new RangeError("bad"));
      const seen: [string, unknown][] = [];
      assert.equal(await new AsyncResult(ok, b).maybeThrow({ callback: (taskId, value) => seen.push([taskId, value]) }), "v");
      assert.deepEqual(seen, [[ok, "v"]]);
      await assert.rejects(new AsyncResult(bad, b).maybeThrow(), RangeError);
      assert.ok((await new AsyncResult(bad, b).maybeThrow({ propagate: false })) instanceof RangeError);
      const values = await new ResultSet([ok, bad], b).maybeThrow({ propagate: false });
      assert.equal(values[0], "v");
      assert.ok(values[1] instanceof RangeError);
      await assert.rejects(new ResultSet([ok, bad], b).maybeThrow(), RangeError);
    });

    it("collect() waits for an unready node, with the get() options", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false });
      const other = await ctx.open(ctx.url(), { migrate: false });
      const [root, child] = [id(), id()];
      await b.markAsDone(root, "root", { request: { children: [child] } });
      const seen: [string, unknown][] = [];
      const walk = (async () => {
        for await (const [node, value] of new AsyncResult(root, b).collect(PUSH_ONLY)) seen.push([node.id, value]);
      })();
      // The root's own get() subscribes too: wait until the walk is past it, then for the child's waiter.
      while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await waiters(b, walk);
      await other.markAsDone(child, "child");
      await walk;
      assert.deepEqual(seen, [
        [root, "root"],
        [child, "child"],
      ]);
    });

    it("collect() with intermediate yields a node get() did not wait for (ignored) instead of throwing", async () => {
      const b = ctx.backend();
      const ignored = new AsyncResult(id(), b);
      ignored.ignored = true;
      const walk = async (intermediate: boolean) => {
        const seen: unknown[] = [];
        for await (const [node, value] of ignored.collect({ intermediate })) seen.push([node.id, value]);
        return seen;
      };
      await assert.rejects(walk(false), (e: unknown) => e instanceof IncompleteStreamError && e.taskId === ignored.id);
      assert.deepEqual(await walk(true), [[ignored.id, null]]);
    });

    it("a GroupResult holding a GroupResult joins to nested arrays, reading all tasks in one query per poll", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false }, spy.over);
      const [a, c, d] = [id(), id(), id()];
      await b.storeMany([
        { taskId: a, status: states.SUCCESS, result: 1 },
        { taskId: c, status: states.SUCCESS, result: 2 },
        { taskId: d, status: states.SUCCESS, result: 3 },
      ]);
      const inner = new GroupResult(id(), [a, c], b);
      const outer = new GroupResult(id(), [inner, d], b);
      const reads: number[] = [];
      spy.intercept("taskGetMany", (original, taskIds) => (reads.push(taskIds.length), original(taskIds)));
      assert.deepEqual(await outer.join({ timeout: 5_000 }), [[1, 2], 3]);
      assert.deepEqual(reads, [3]);
      const seen: [string, unknown][] = [];
      assert.deepEqual(await outer.join({ callback: (taskId, value) => seen.push([taskId, value]) }), []);
      assert.deepEqual(seen, [
        [inner.id, [1, 2]],
        [d, 3],
      ]);
      assert.equal(await outer.completedCount(), 2);
      assert.deepEqual(
        outer.leaves().map((r) => r.id),
        [a, c, d],
      );
    });

    for (const celeryCompatible of [false, true]) {
      it(`save/restore keeps nested groups and the group's parent (${celeryCompatible ? "pickled GroupResult" : "as_tuple JSON"})`, async () => {
        const b = await ctx.open(ctx.url(), { migrate: false, celeryCompatible });
        const [parent, a, c, d] = [id(), id(), id(), id()];
        const inner = new GroupResult(id(), [a, c], b);
        const outer = new GroupResult(id(), [inner, d], b, new AsyncResult(parent, b));
        await outer.save();
        const restored = await GroupResult.restore(outer.id, b);
        assert.ok(restored);
        assert.equal(restored.parent?.id, parent);
        const [first, second] = restored.results;
        assert.ok(first instanceof GroupResult, "the inner group comes back as a group, not a fake task id");
        assert.equal(first.id, inner.id);
        assert.deepEqual(
          first.results.map((r) => r.id),
          [a, c],
        );
        assert.ok(second instanceof AsyncResult && second.id === d);
        assert.deepEqual(restored.asTuple(), outer.asTuple());
        assert.deepEqual((await b.restoreGroup(outer.id))?.results, [a, c, d], "restoreGroup still lists every task id");
        await b.storeMany([a, c, d].map((taskId, i) => ({ taskId, status: states.SUCCESS, result: i })));
        assert.deepEqual(await restored.join({ timeout: 5_000 }), [[0, 1], 2]);
      });
    }

    it("EagerResult reads like AsyncResult through the one ResultLike interface", async () => {
      const b = ctx.backend();
      const stored = id();
      const request = { name: "math.add", args: [2, 3], kwargs: { carry: true } };
      await b.markAsDone(stored, 5, { request });
      const read = async (r: ResultLike<number>) => {
        const meta = await r.meta();
        const collected: [string, unknown][] = [];
        for await (const [node, value] of r.collect({ timeout: 1_000 })) collected.push([node.id, value]);
        const seen: unknown[] = [];
        return {
          state: await r.state(),
          ready: await r.ready(),
          value: await r.get({ timeout: 1_000, interval: 50, callback: (_, v) => seen.push(v) }),
          seen,
          meta: [meta.status, meta.result, meta.name, meta.args, meta.kwargs],
          dated: (await r.dateDone()) instanceof Date,
          request: [await r.name(), await r.args(), await r.kwargs()],
          parent: await r.getParent(),
          collected,
          thrown: await r.maybeThrow(),
          exists: await r.exists(),
          tuple: r.asTuple(),
        };
      };
      const eager = await EagerResult.run(() => 5, { id: stored, ...request });
      const fromStore = await read(new AsyncResult<number>(stored, b));
      assert.deepEqual(await read(eager), fromStore);
      assert.deepEqual(fromStore.value, 5);
      assert.deepEqual(fromStore.request, ["math.add", [2, 3], { carry: true }]);
      assert.deepEqual(fromStore.seen, [5]);
      const failed = await EagerResult.run<number>(() => {
        throw new RangeError("eager boom");
      });
      const error = await failed.get({ propagate: false, timeout: 1_000 });
      assert.ok(error instanceof RangeError);
      assert.ok((await failed.maybeThrow({ propagate: false })) instanceof RangeError);
      await assert.rejects(failed.maybeThrow(), RangeError);
    });
  });
}
