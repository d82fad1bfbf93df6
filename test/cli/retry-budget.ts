/** TASKLEDGER_RETRY_BUDGET: how long a command retries an unreachable database. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";

export function retryBudgetSuite(): void {
  describe("TASKLEDGER_RETRY_BUDGET", () => {
    const dead = ["--url", "postgres://app@127.0.0.1:1/x", "list"];

    it("a budget of 0 fails at once, with no retries", async () => {
      const once = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "0" } });
      assert.equal(once.code, 1);
      assert.match(once.stderr, /list failed: connect ECONNREFUSED/);
      assert.doesNotMatch(once.stderr, /attempts/, "no retries with a budget of 0");
    });

    it("a budget of 300ms retries for under a second and says how many attempts it made", async () => {
      const retried = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "300ms" } });
      assert.match(retried.stderr, /list failed after \d+ attempts in 0\.\d s/);
    });

    it("a budget that is no duration exits 2 naming the variable", async () => {
      const bad = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "soon" } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /TASKLEDGER_RETRY_BUDGET: cannot read duration "soon"/);
    });
  });
}
