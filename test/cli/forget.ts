/** `taskledger forget`: deletes results and counts those it found. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function forgetSuite(ctx: CliContext): void {
  describe("forget", () => {
    it("forget deletes the results it finds and counts them against those requested", async () => {
      const [x, y] = [randomUUID(), randomUUID()];
      await ctx.backend().markAsDone(x, 1);
      const forgot = await cli(["--url", ctx.url(), "--json", "forget", x, y]);
      assert.deepEqual(JSON.parse(forgot.stdout), { requested: 2, forgotten: 1 });
      assert.equal(await ctx.backend().exists(x), false);
    });
  });
}
