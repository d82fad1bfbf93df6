/** `taskledger export`: streams every matching row as JSON lines or CSV in flat memory, proven under a heap cap. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { states, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function exportSuite(ctx: CliContext): void {
  describe("export", () => {
    let url = "";
    let b: DatabaseBackend;
    const fill = async (from: number, to: number) => {
      for (let start = from; start < to; start += 10_000) {
        await b.storeMany(
          Array.from({ length: Math.min(10_000, to - start) }, (_, i) => ({
            taskId: `export-${start + i}`,
            status: states.SUCCESS,
            result: { n: start + i, text: "x".repeat(400) },
            request: { name: "bulk", args: [start + i] },
          })),
        );
      }
    };
    before(async () => {
      ({ url, backend: b } = await ctx.freshStore("cli_export"));
    });

    it("export streams 30,000 rows as JSON lines with flat memory", async () => {
      await fill(0, 5_000);
      // The proof is the heap cap: 30k decoded rows and their 15 MB of JSON could not be held in
      // a 24 MB heap, so the large export only succeeds if it streams. Peak RSS (which also counts
      // driver buffers and pages the allocator keeps) is checked loosely on top. (100k rows and a
      // 32 MB heap proved the same in three times the time: the cost is per row, so the rows are
      // fewer and longer.)
      const small = await cli(["--url", url, "export"], { measureMemory: true, heapLimitMb: 24 });
      assert.equal(small.code, 0, small.stderr);
      assert.equal(small.stdout.trim().split("\n").length, 5_000);
      await fill(5_000, 30_000);
      const large = await cli(["--url", url, "export"], { measureMemory: true, heapLimitMb: 24 });
      assert.equal(large.code, 0, large.stderr);
      const lines = large.stdout.trim().split("\n");
      assert.equal(lines.length, 30_000);
      assert.deepEqual(JSON.parse(lines[29_999]!).args, [29_999]);
      // Six times the rows (about 15 MB of output) must not mean six times the memory.
      assert.ok(large.maxRssKb! < small.maxRssKb! + 64 * 1024, `peak RSS ${small.maxRssKb} KiB for 5k rows, ${large.maxRssKb} KiB for 30k`);
    });

    it("export --format csv streams the same 30,000 rows, filtered by name and state, under the same heap cap", async () => {
      if ((await b.audit.count({})) < 30_000) await fill(0, 30_000);
      const csv = await cli(["--url", url, "export", "--format", "csv", "--name", "bulk", "--state", "SUCCESS"], { heapLimitMb: 24 });
      assert.equal(csv.code, 0, csv.stderr);
      const rows = csv.stdout.trim().split("\n");
      assert.equal(rows.length, 30_001);
      assert.match(rows[0]!, /^task_id,status,name/);
    });
  });
}
