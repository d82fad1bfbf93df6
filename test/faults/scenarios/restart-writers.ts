/**
 * Writers across PostgreSQL restarts (#10): writer processes store single results and batches,
 * SUCCESS and FAILURE, while the server is stopped `-m fast` and then `-m immediate` (crash
 * recovery) and kept down OUTAGE_MS more each time. Every acknowledged write must be present with
 * its state, and no call may fail: the retry budget (15 s) outlasts the outage. Before #10 the
 * 7-attempt retry gave up after about 1 s, so an outage of a few seconds failed calls in every writer.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Cluster } from "../helpers/cluster.js";
import { figure, reportOf, startChild } from "../helpers/children.js";
import { openBackend } from "../../../src/index.js";

const WRITERS = 4;
const LOOPS = 4;
/** Longer than the old retry (about 1 s), shorter than the budget (15 s). */
const OUTAGE_MS = 1_500;

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function writersScenario(shared: () => Cluster): void {
  describe("writers across PostgreSQL restarts", () => {
    let cluster: Cluster;
    let url = "";
    before(async () => {
      cluster = shared();
      url = await cluster.createDatabase("writers");
      await (await openBackend({ url })).close(); // migrate once, before the writers start
    });
    const count = async () => Number((await cluster.query<{ n: string }>("writers", "SELECT count(*) AS n FROM celery_taskmeta"))[0]!.n);
    /** Resolves once `more` rows were committed after the call (the writers made progress). */
    const progress = async (more: number) => {
      const start = await count();
      while ((await count()) < start + more) await new Promise((resolve) => setTimeout(resolve, 100));
    };

    it("loses no acknowledged write and fails no call through a -m fast and a -m immediate restart", async () => {
      const writers = Array.from({ length: WRITERS }, (_, i) => startChild("writer.mjs", [url, String(i), String(LOOPS)]));
      await Promise.all(writers.map((w) => w.line("writing")));
      const downFast = await cluster.restart("fast", OUTAGE_MS);
      await progress(2_000);
      const downImmediate = await cluster.restart("immediate", OUTAGE_MS);
      await progress(2_000);
      for (const w of writers) w.finish();
      const reports = (await Promise.all(writers.map((w) => w.exit))).map((e) => {
        assert.equal(e.code, 0, e.stderr);
        return reportOf<{ acked: [string, string][]; calls: number; failed: number; failures: string[]; longestBlockMs: number }>(e.stdout);
      });

      const rows = await cluster.query<{ task_id: string; status: string }>("writers", "SELECT task_id, status FROM celery_taskmeta");
      const stored = new Map(rows.map((r) => [r.task_id, r.status]));
      let lost = 0;
      let wrongState = 0;
      let acked = 0;
      for (const report of reports) {
        for (const [id, state] of report.acked) {
          acked++;
          const found = stored.get(id);
          if (found === undefined) lost++;
          else if (found !== state) wrongState++;
        }
      }
      const failed = reports.reduce((n, r) => n + r.failed, 0);
      const calls = reports.reduce((n, r) => n + r.calls, 0);
      const longestBlockMs = Math.max(...reports.map((r) => r.longestBlockMs));
      figure("restart-writers", {
        processes: WRITERS, loopsEach: LOOPS, calls, acknowledgedRows: acked, outageFastMs: Math.round(downFast), outageImmediateMs: Math.round(downImmediate),
        lost, wrongState, failedCalls: failed, longestBlockMs: Math.round(longestBlockMs),
      });
      assert.equal(lost, 0, "acknowledged writes lost");
      assert.equal(wrongState, 0, "acknowledged writes with another state");
      assert.equal(failed, 0, `calls failed during the restarts: ${reports.flatMap((r) => r.failures).slice(0, 3).join(" | ")}`);
    });
  });
}
