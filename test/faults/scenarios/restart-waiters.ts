/**
 * 1,000 waiters through a killed LISTEN connection and through a server restart. The
 * waiters and the completing writer use different backends, so a waiter learns of the commit
 * only through the database (NOTIFY, or its re-read), as it would across processes. Every waiter
 * must return its value; the figures are the delays from the completing commit to each return.
 * With the earlier 7-attempt retry, a restart rejected most waiters with DatabaseError after
 * about 1 s of retries.
 */
import assert from "node:assert/strict";
import { untilWaiting } from "../../helpers/waiting.js";
import { after, before, describe, it } from "node:test";
import { AsyncResult, openBackend, states, type DatabaseBackend } from "../../../src/index.js";
import { figure, percentile } from "../helpers/children.js";
import type { Cluster } from "../helpers/cluster.js";

const WAITERS = 1_000;
const OUTAGE_MS = 1_500;
const TIMEOUT_MS = 90_000;

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function waitersScenario(shared: () => Cluster): void {
  describe("1,000 waiters through faults", () => {
    let cluster: Cluster;
    let waiting: DatabaseBackend;
    let writing: DatabaseBackend;
    before(async () => {
      cluster = shared();
      const url = await cluster.createDatabase("waiters");
      waiting = await openBackend({ url });
      writing = await openBackend({ url, migrate: false });
    });
    after(async () => {
      await waiting?.close();
      await writing?.close();
    });

    /** Starts WAITERS get() calls; resolves once all are subscribed and have read once. */
    async function startWaiters(label: string) {
      const ids = Array.from({ length: WAITERS }, (_, i) => `${label}-${i}`);
      const returned = new Map<string, number>();
      const gets = ids.map((id) =>
        new AsyncResult(id, waiting).get({ timeout: TIMEOUT_MS }).then((value) => {
          assert.deepEqual(value, { id });
          returned.set(id, performance.now());
        }),
      );
      await untilWaiting(waiting, WAITERS, gets, 60_000);
      return { ids, returned, all: Promise.allSettled(gets) };
    }

    async function complete(ids: string[]) {
      await writing.storeMany(ids.map((id) => ({ taskId: id, status: states.SUCCESS, result: { id } })));
      return performance.now();
    }

    function delays(returned: Map<string, number>, committed: number) {
      const d = [...returned.values()].map((t) => Math.max(0, t - committed));
      return { p50Ms: Math.round(percentile(d, 50)), maxMs: Math.round(Math.max(...d)) };
    }

    it("all return their value after the LISTEN connection is killed", async () => {
      const { ids, returned, all } = await startWaiters("listen");
      const killed = await cluster.query(
        "waiters",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'taskledger-listen'",
      );
      assert.equal(killed.length, 1, "one LISTEN connection to kill");
      const committed = await complete(ids);
      const settled = await all;
      const rejected = settled.filter((s) => s.status === "rejected");
      figure("waiters-listen-kill", {
        waiters: WAITERS,
        returned: returned.size,
        rejected: rejected.length,
        ...delays(returned, committed),
      });
      assert.equal(rejected.length, 0, String((rejected[0] as PromiseRejectedResult | undefined)?.reason));
    });

    it("all return their value through a server restart (-m fast) that outlasts a write's first retries", async () => {
      const { ids, returned, all } = await startWaiters("restart");
      const downMs = await cluster.restart("fast", OUTAGE_MS);
      const committed = await complete(ids);
      const settled = await all;
      const rejected = settled.filter((s) => s.status === "rejected");
      figure("waiters-restart", {
        waiters: WAITERS,
        outageMs: Math.round(downMs),
        returned: returned.size,
        rejected: rejected.length,
        ...delays(returned, committed),
      });
      assert.equal(rejected.length, 0, String((rejected[0] as PromiseRejectedResult | undefined)?.reason));
    });
  });
}
