/**
 * `kill -9` of `taskledger backend-cleanup` mid-run on a few hundred thousand expired rows, then
 * a rerun: the rerun must not meet a stale lock (it completes, exit 0) and must finish the
 * job, and nothing younger than the cutoff may be deleted by either run. Both dialects.
 * PostgreSQL's advisory lock dies with the killed session; SQLite's cleanup lock is a lease row
 * that must not outlive its holder.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackend } from "../../../src/index.js";
import { figure, startChild } from "../helpers/children.js";
import type { Cluster } from "../helpers/cluster.js";

const EXPIRED = 250_000;
const YOUNG = 5_000;
/** Small fixed batches in the first run, so there is time to kill it between its first and last. */
const FIRST_RUN_BATCH = 2_000;

interface Side {
  name: string;
  url: () => string;
  seed: () => Promise<void>;
  count: (prefix: "old" | "young") => Promise<number>;
}

function cleanupKillSuite(side: Side) {
  it(`${side.name}: a rerun after kill -9 completes at once, and no row younger than the cutoff is deleted`, async () => {
    await side.seed();
    assert.equal(await side.count("old"), EXPIRED);
    const first = startChild("../../../dist/cli/main.js", [
      "backend-cleanup",
      "--url",
      side.url(),
      "--expires",
      "1d",
      "--batch-size",
      String(FIRST_RUN_BATCH),
    ]);
    let exited = false;
    void first.exit.then(() => (exited = true));
    while (!exited && (await side.count("old")) > EXPIRED - 5 * FIRST_RUN_BATCH) await new Promise((resolve) => setTimeout(resolve, 25));
    first.kill9();
    const killed = await first.exit;
    assert.equal(killed.signal, "SIGKILL", `the first run ended before the kill: ${killed.stdout} ${killed.stderr}`);
    const atKill = await side.count("old");
    const rerunStarted = performance.now();
    const rerun = startChild("../../../dist/cli/main.js", ["backend-cleanup", "--url", side.url(), "--expires", "1d"]);
    const result = await rerun.exit;
    const rerunMs = performance.now() - rerunStarted;
    const oldLeft = await side.count("old");
    const young = await side.count("young");
    figure(`kill-cleanup-${side.name}`, {
      expired: EXPIRED,
      young: YOUNG,
      leftAtKill: atKill,
      rerunExit: result.code,
      rerunMs: Math.round(rerunMs),
      expiredLeft: oldLeft,
      youngLeft: young,
    });
    assert.equal(result.code, 0, `the rerun did not complete: ${result.stdout}${result.stderr}`);
    assert.equal(oldLeft, 0, "expired rows left after the rerun");
    assert.equal(young, YOUNG, "rows younger than the cutoff were deleted");
  });
}

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function killCleanupScenario(shared: () => Cluster): void {
  describe("kill -9 of backend-cleanup, then a rerun", () => {
    let cluster: Cluster;
    let pgUrl = "";
    const dir = mkdtempSync(join(tmpdir(), "tl-fault-cleanup-"));
    const sqliteFile = join(dir, "cleanup.db");
    before(async () => {
      cluster = shared();
      pgUrl = await cluster.createDatabase("cleanup");
      await (await openBackend({ url: pgUrl })).close();
      await (await openBackend({ url: sqliteFile })).close();
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
    });

    cleanupKillSuite({
      name: "postgresql",
      url: () => pgUrl,
      seed: async () => {
        // Written the way many finished tasks would be, in one statement (storeMany would take minutes here).
        await cluster.query(
          "cleanup",
          `INSERT INTO celery_taskmeta (task_id, status, result, date_done)
          SELECT 'old-' || g, 'SUCCESS', '"done"'::bytea, (now() AT TIME ZONE 'utc') - interval '2 days' - g * interval '1 ms' FROM generate_series(1, $1::int) g`,
          [EXPIRED],
        );
        await cluster.query(
          "cleanup",
          `INSERT INTO celery_taskmeta (task_id, status, result, date_done)
          SELECT 'young-' || g, 'SUCCESS', '"done"'::bytea, (now() AT TIME ZONE 'utc') - interval '12 hours' FROM generate_series(1, $1::int) g`,
          [YOUNG],
        );
        await cluster.query("cleanup", "ANALYZE celery_taskmeta");
      },
      count: async (prefix) =>
        Number(
          (
            await cluster.query<{ n: string }>("cleanup", "SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE $1", [
              `${prefix}-%`,
            ])
          )[0]!.n,
        ),
    });

    const sqliteCount = (prefix: string) => {
      const db = new Database(sqliteFile, { readonly: true });
      try {
        return (db.prepare("SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE ?").get(`${prefix}-%`) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    cleanupKillSuite({
      name: "sqlite",
      url: () => sqliteFile,
      seed: async () => {
        const db = new Database(sqliteFile);
        try {
          db.pragma("busy_timeout = 5000");
          const at = (modifier: string) => `strftime('%Y-%m-%d %H:%M:%f', 'now', '${modifier}') || '000'`;
          db.prepare(
            `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
            INSERT INTO celery_taskmeta (task_id, status, result, date_done) SELECT 'old-' || n, 'SUCCESS', CAST('"done"' AS BLOB), ${at("-2 days")} FROM g`,
          ).run(EXPIRED);
          db.prepare(
            `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
            INSERT INTO celery_taskmeta (task_id, status, result, date_done) SELECT 'young-' || n, 'SUCCESS', CAST('"done"' AS BLOB), ${at("-12 hours")} FROM g`,
          ).run(YOUNG);
        } finally {
          db.close();
        }
      },
      count: async (prefix) => sqliteCount(prefix),
    });
  });
}
