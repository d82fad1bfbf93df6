/**
 * Celery semantics a porting user hits (#9 items 9-15), on both dialects: failures travelling down
 * a chain, collect() waiting, callbacks, failed()/revoked(), nested groups, legacy tuples,
 * ignore_result, and EagerResult reading like AsyncResult.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { AsyncResult, GroupResult, RemoteError, resultFromTuple, ResultSet, runTask, states } from "../../src/index.js";
import type { SuiteContext } from "./suite.js";

const id = () => randomUUID();

export function celerySemanticsSuite(ctx: SuiteContext): void {
  describe("Celery semantics (#9)", () => {
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
      const group = resultFromTuple(["g1", [["a", null], [["b", null], null]]], b);
      assert.ok(group instanceof GroupResult);
      assert.equal(group.id, "g1");
      assert.deepEqual(group.results.map((r) => r.id), ["a", "b"]);
      assert.throws(() => resultFromTuple([42, null] as never, b), /not a result tuple/);
    });

    it("ignoreResult on runTask, or on the request, writes nothing; errors only when asked", async () => {
      const b = ctx.backend();
      const [byOption, byRequest, failing, failingKept] = [id(), id(), id(), id()];
      assert.deepEqual(await runTask(b, { id: byOption }, () => 5, { ignoreResult: true, trackStarted: true }), { taskId: byOption, status: states.SUCCESS, result: 5 });
      await runTask(b, { id: byRequest, ignoreResult: true }, () => 6);
      const outcome = await runTask(b, { id: failing }, () => {
        throw new TypeError("ignored failure");
      }, { ignoreResult: true });
      assert.equal(outcome.status, states.FAILURE);
      await runTask(b, { id: failingKept }, () => {
        throw new TypeError("kept failure");
      }, { ignoreResult: true, storeErrorsEvenIfIgnored: true });
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
      await b.storeResult(custom, { exc_type: "CustomError", exc_message: ["custom boom", 42], exc_module: "myapp.errors" }, states.FAILURE);
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
  });
}
