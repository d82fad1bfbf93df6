/** `taskledger groups show`: a group's members and their states. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function groupsSuite(ctx: CliContext): void {
  describe("groups", () => {
    it("groups show lists a group's members in order with their states, PENDING for those with no row", async () => {
      const [x, y] = [randomUUID(), randomUUID()];
      const groupId = randomUUID();
      await ctx.backend().markAsDone(x, 1);
      await ctx.backend().saveGroup(groupId, [x, y]);
      const group = JSON.parse((await cli(["--url", ctx.url(), "--json", "groups", "show", groupId])).stdout);
      assert.deepEqual(
        group.members.map((m: { task_id: string; status: string }) => [m.task_id, m.status]),
        [
          [x, "SUCCESS"],
          [y, "PENDING"],
        ],
      );
    });

    it("groups show of an unknown group exits 1", async () => {
      assert.equal((await cli(["--url", ctx.url(), "groups", "show", "no-such-group"])).code, 1);
    });
  });
}
