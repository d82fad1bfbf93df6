import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { CorruptValueError } from "../../src/index.js";
import type { SuiteContext } from "./suite.js";

export function groupSuite(ctx: SuiteContext): void {
  describe("groups", () => {
    it("saveGroup, restoreGroup and deleteGroup round-trip a group's result ids in order", async () => {
      const b = ctx.backend();
      const group = randomUUID();
      const members = Array.from({ length: 200 }, () => randomUUID());
      await b.saveGroup(group, members);
      const restored = await b.restoreGroup(group);
      assert.ok(restored);
      assert.equal(restored.groupId, group);
      assert.deepEqual(restored.results, members);
      assert.ok(restored.dateDone);
      assert.equal(await b.deleteGroup(group), true);
      assert.equal(await b.restoreGroup(group), null);
      assert.equal(await b.deleteGroup(group), false);
    });

    it("restoring an unknown group gives null, and saving twice keeps the second save", async () => {
      const b = ctx.backend();
      assert.equal(await b.restoreGroup(randomUUID()), null);
      const group = randomUUID();
      await b.saveGroup(group, ["a"]);
      await b.saveGroup(group, ["b", "c"]);
      assert.deepEqual((await b.restoreGroup(group))?.results, ["b", "c"]);
    });

    it("a group row that cannot be decoded is a typed error", async () => {
      const b = ctx.backend();
      const group = randomUUID();
      await b.saveGroup(group, ["a"]);
      await ctx.harness.setRawGroup(ctx.url(), group, Buffer.from('{"not": "a tuple"}'));
      await assert.rejects(b.restoreGroup(group), CorruptValueError);
    });
  });
}
