/**
 * Celery semantics a porting user hits (#9 items 9-15), on both dialects: failures travelling down
 * a chain, collect() waiting, callbacks, failed()/revoked(), nested groups, legacy tuples,
 * ignore_result, and EagerResult reading like AsyncResult.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { ResultSet, states } from "../../src/index.js";
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
  });
}
