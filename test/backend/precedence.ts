import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { states } from "../../src/index.js";
import { runFixture } from "../helpers/spawn.js";
import type { SuiteContext } from "./suite.js";

export function precedenceSuite(ctx: SuiteContext): void {
  describe("state precedence", () => {
    it("a late STARTED or RETRY never overwrites SUCCESS, FAILURE or REVOKED", async () => {
      const b = ctx.backend();
      for (const [ready, store] of [
        [states.SUCCESS, (id: string) => b.markAsDone(id, "kept")],
        [states.FAILURE, (id: string) => b.markAsFailure(id, new Error("kept"))],
        [states.REVOKED, (id: string) => b.markAsRevoked(id, "kept")],
      ] as const) {
        const task = randomUUID();
        await store(task);
        assert.equal(await b.markAsStarted(task), false);
        assert.equal(await b.markAsRetry(task, new Error("late")), false);
        assert.equal(await b.storeResult(task, null, states.RECEIVED), false);
        const meta = await b.getTaskMeta(task);
        assert.equal(meta.status, ready);
        assert.ok(meta.dateDone);
      }
    });

    it("a ready state replaces another ready state, as in Celery", async () => {
      const b = ctx.backend();
      const task = randomUUID();
      await b.markAsDone(task, 1);
      assert.equal(await b.markAsFailure(task, new Error("then failed")), true);
      assert.equal((await b.getTaskMeta(task)).status, states.FAILURE);
    });

    it("a revoke that is only for unready tasks leaves a finished task alone", async () => {
      const b = ctx.backend();
      const done = randomUUID();
      await b.markAsDone(done, "finished");
      assert.equal(await b.markAsRevoked(done, "too late", { onlyIfUnready: true }), false);
      assert.equal((await b.getTaskMeta(done)).status, states.SUCCESS);
      const running = randomUUID();
      await b.markAsStarted(running);
      assert.equal(await b.markAsRevoked(running, "stop", { onlyIfUnready: true }), true);
      assert.equal((await b.getTaskMeta(running)).status, states.REVOKED);
    });

    it("concurrent writers in one process never replace a ready row with an unready one", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false, poolSize: 8 });
      const ids = Array.from({ length: 40 }, () => randomUUID());
      await Promise.all(
        ids.flatMap((task, i) => [
          ...Array.from({ length: 6 }, (_, k) => b.storeResult(task, k, k % 2 ? states.STARTED : states.RETRY)),
          b.markAsDone(task, i),
          ...Array.from({ length: 6 }, (_, k) => b.storeResult(task, k, states.STARTED)),
        ]),
      );
      const metas = await b.getManyTaskMeta(ids);
      ids.forEach((task, i) => {
        const meta = metas.get(task) as { status: string; result: unknown };
        assert.equal(meta.status, states.SUCCESS, `task ${i}`);
        assert.equal(meta.result, i);
      });
    });

    it("four writer processes racing on the same ids leave every SUCCESS in place", async () => {
      const ids = Array.from({ length: 60 }, () => randomUUID());
      const writers = 4;
      const children = await Promise.all(
        Array.from({ length: writers }, (_, index) =>
          runFixture("race-writer.ts", [ctx.url(), String(index), String(writers), ids.join(",")]),
        ),
      );
      for (const child of children) assert.equal(child.code, 0, child.stderr);
      const metas = await ctx.backend().getManyTaskMeta(ids);
      ids.forEach((task, i) => {
        const meta = metas.get(task) as { status: string; result: unknown };
        assert.equal(meta.status, states.SUCCESS, `task ${i} ended ${meta.status}`);
        assert.deepEqual(meta.result, { by: i % writers });
      });
    });
  });
}
