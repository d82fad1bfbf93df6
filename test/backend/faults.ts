import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DatabaseError, openBackend, states } from "../../src/index.js";
import { runFixture } from "../helpers/spawn.js";
import type { SuiteContext } from "./suite.js";

export function faultSuite(ctx: SuiteContext): void {
  describe("transient faults and migrations", () => {
    it("a transient fault (connection reset / busy database) is retried and the store lands once", async () => {
      const b = await ctx.open(ctx.url(), { migrate: false, retry: { maxRetries: 8, baseDelayMs: 20, maxDelayMs: 200 } });
      const task = randomUUID();
      await b.markAsStarted(task);
      let attempts = 0;
      const original = b.driver.taskStore.bind(b.driver);
      b.driver.taskStore = (write) => (attempts++, original(write));
      assert.equal(await ctx.harness.withTransientFault(ctx.url(), () => b.markAsDone(task, "after the fault")), true);
      assert.ok(attempts >= 2, `the fault was not met (${attempts} attempt)`);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.SUCCESS);
      assert.equal(meta.result, "after the fault");
    });

    it("when retries run out the error names the operation and the task id", async () => {
      const fault = await ctx.harness.persistentFault(ctx.url());
      try {
        const b = await ctx.open(fault.url, { migrate: false, retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 5 } });
        const task = randomUUID();
        await assert.rejects(b.markAsDone(task, 1), (e: unknown) => {
          assert.ok(e instanceof DatabaseError, String(e));
          assert.equal(e.operation, "storeResult");
          assert.equal(e.subject, task);
          assert.equal(e.attempts, 3);
          assert.match(e.message, new RegExp(`storeResult for ${task} failed after 3 attempts`));
          return true;
        });
      } finally {
        await fault.release();
      }
    });

    it("ten processes opening a fresh database at once all migrate and store successfully", async () => {
      const url = await ctx.harness.freshUrl("migrate");
      const ids = Array.from({ length: 10 }, () => randomUUID());
      const children = await Promise.all(ids.map((id) => runFixture("open-and-store.ts", [url, id])));
      for (const child of children) assert.equal(child.code, 0, child.stderr);
      const b = await ctx.open(url, { migrate: false });
      const metas = await b.getManyTaskMeta(ids);
      assert.ok([...metas.values()].every((m) => !(m instanceof Error) && m.status === states.SUCCESS));
      const status = await b.driver.migrationStatus();
      assert.deepEqual(status.pending, []);
      assert.equal(status.applied[0], "0000_init");
      assert.equal(new Set(status.applied).size, status.applied.length, "each migration applied once");
    });

    it("migrating an up-to-date database is a no-op", async () => {
      const b = await openBackend({ url: ctx.url() });
      try {
        assert.deepEqual((await b.driver.migrate()).pending, []);
        assert.deepEqual((await b.driver.migrationStatus()).pending, []);
      } finally {
        await b.close();
      }
    });
  });
}
