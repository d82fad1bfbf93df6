/**
 * A database whose tables are missing or older than taskledger's reads the same on every dialect:
 * each dialect's executor turns the database's own words into MissingTablesError or
 * MissingColumnError, whose messages say to migrate, whichever method met the gap.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DatabaseError, MissingColumnError, MissingTablesError } from "../../src/index.js";
import type { SuiteContext } from "./suite.js";

export function schemaErrorSuite(ctx: SuiteContext): void {
  describe("missing tables and columns", () => {
    it("every kind of call on a database without the tables is MissingTablesError naming the table", async () => {
      const url = await ctx.harness.freshUrl("no-tables", { empty: true });
      const b = await ctx.open(url, { migrate: false });
      const calls: [string, () => Promise<unknown>][] = [
        ["getTaskMeta", () => b.getTaskMeta("x")],
        ["storeResult", () => b.storeResult("x", 1, "SUCCESS")],
        ["forget", () => b.forget("x")],
        ["hold", () => b.hold(["x"])],
        ["holds", () => b.holds(["x"])],
        ["release", () => b.release(["x"])],
        ["getTaskHistory", () => b.getTaskHistory("x")],
        ["list", () => b.audit.list({})],
        ["cleanup", () => b.cleanup()],
      ];
      for (const [name, call] of calls) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof MissingTablesError, `${name}: ${String(error)}`);
          assert.match(error.message, /celery_taskmeta\w*.* does not exist .*taskledger migrate/, name);
          return true;
        });
      }
    });

    it("a store into a table that lacks a column taskledger adds is MissingColumnError, which says to migrate", async () => {
      const url = await ctx.harness.freshUrl("old-columns");
      const b = await ctx.open(url);
      await ctx.harness.execRaw(url, "ALTER TABLE celery_taskmeta DROP COLUMN children");
      const task = randomUUID();
      await assert.rejects(b.storeResult(task, 1, "SUCCESS"), (error: unknown) => {
        assert.ok(error instanceof MissingColumnError, String(error));
        assert.match(error.message, /column children does not exist.*taskledger migrate/);
        return true;
      });
    });

    it("an unreachable or locked database stays a transient DatabaseError, retried, never taken for a missing table or column", async () => {
      const fault = await ctx.harness.persistentFault(ctx.url());
      try {
        const b = await ctx.open(fault.url, { migrate: false, retryBudget: 300 });
        await assert.rejects(b.storeResult(randomUUID(), 1, "SUCCESS"), (error: unknown) => {
          assert.ok(error instanceof DatabaseError, String(error));
          assert.equal(error.transient, true, error.message);
          assert.ok(error.attempts > 1, `retried: ${error.message}`);
          return true;
        });
      } finally {
        await fault.release();
      }
    });
  });
}
