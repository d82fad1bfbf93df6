/**
 * Writers across server restarts (PostgreSQL, MariaDB): writer processes store single results and batches,
 * SUCCESS and FAILURE, while the server is stopped `-m fast` and then `-m immediate` (crash
 * recovery) and kept down OUTAGE_MS more each time. Every acknowledged write must be present with
 * its state, and no call may give up before its retry budget (default 15 s) ran out: with an
 * ordinary restart (a few seconds) no call fails at all. The earlier 7-attempt retry gave up
 * after about 1 s, so every restart failed calls in every writer. The verdict does not depend on
 * how long the restart takes on a loaded machine (crash recovery took up to 20 s here under a load
 * average of 40); the figures say how many calls outlived their budget.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Cluster } from "../helpers/cluster.js";
import { figure, reportOf, startChild } from "../helpers/children.js";
import { openBackend } from "../../../src/index.js";
import { RETRY_BUDGET_DEFAULT_MS } from "../../../src/config.js";

interface Failure {
  message: string;
  transient: boolean;
  elapsedMs: number;
}

const WRITERS = 4;
const LOOPS = 4;
/** Longer than the old retry (about 1 s), shorter than the budget (15 s). */
const OUTAGE_MS = 1_500;

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function writersScenario(shared: () => Cluster, server: "PostgreSQL" | "MariaDB" = "PostgreSQL"): void {
  describe(`writers across ${server} restarts`, () => {
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

    it("loses no acknowledged write, and no call gives up before its retry budget, through a -m fast and a -m immediate restart", async () => {
      const writers = Array.from({ length: WRITERS }, (_, i) => startChild("writer.mjs", [url, String(i), String(LOOPS)]));
      await Promise.all(writers.map((w) => w.line("writing")));
      const downFast = await cluster.restart("fast", OUTAGE_MS);
      await progress(2_000);
      const downImmediate = await cluster.restart("immediate", OUTAGE_MS);
      await progress(2_000);
      for (const w of writers) w.finish();
      const reports = (await Promise.all(writers.map((w) => w.exit))).map((e) => {
        assert.equal(e.code, 0, e.stderr);
        return reportOf<{ acked: [string, string][]; calls: number; failed: number; failures: Failure[]; longestBlockMs: number }>(
          e.stdout,
        );
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
      const failures = reports.flatMap((r) => r.failures);
      const failed = failures.length;
      // A failed call is only acceptable once it retried a transient fault for its whole budget.
      const premature = failures.filter((f) => !f.transient || f.elapsedMs < RETRY_BUDGET_DEFAULT_MS - 50);
      const calls = reports.reduce((n, r) => n + r.calls, 0);
      const longestBlockMs = Math.max(...reports.map((r) => r.longestBlockMs));
      figure(server === "PostgreSQL" ? "restart-writers" : `restart-writers-${server.toLowerCase()}`, {
        processes: WRITERS,
        loopsEach: LOOPS,
        calls,
        acknowledgedRows: acked,
        outageFastMs: Math.round(downFast),
        outageImmediateMs: Math.round(downImmediate),
        lost,
        wrongState,
        failedCalls: failed,
        failedBeforeBudget: premature.length,
        longestBlockMs: Math.round(longestBlockMs),
      });
      assert.equal(lost, 0, "acknowledged writes lost");
      assert.equal(wrongState, 0, "acknowledged writes with another state");
      assert.deepEqual(
        premature.slice(0, 3).map((f) => f.message),
        [],
        "calls gave up before their retry budget ran out",
      );
    });
  });
}
