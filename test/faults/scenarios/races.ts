/**
 * Precedence races: several processes write unready and ready states for thousands of ids
 * in random order, as single stores and as batches. Once a ready write (SUCCESS) is
 * acknowledged, no later unready write may replace it: 0 ids unready at the end. Both dialects.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackend } from "../../../src/index.js";
import { figure, reportOf, startChild } from "../helpers/children.js";
import type { Cluster } from "../helpers/cluster.js";

const IDS = 2_000;
/** Two processes store one by one, two in batches of 50, all on the same ids. */
const MODES = ["single", "batch", "single", "batch"] as const;

function raceSuite(name: string, url: () => string, statuses: () => Promise<Map<string, string>>) {
  it(`${name}: no id is unready after an acknowledged ready write (${MODES.length} processes, single and batch)`, async () => {
    const children = MODES.map((mode, i) =>
      startChild("race-writer.mjs", [url(), String(i), String(MODES.length), String(IDS), mode, String(1000 + i)]),
    );
    const reports = (await Promise.all(children.map((c) => c.exit))).map((e) => {
      assert.equal(e.code, 0, e.stderr);
      return reportOf<{ writes: number; readyAcked: string[] }>(e.stdout);
    });
    const stored = await statuses();
    const acked = reports.flatMap((r) => r.readyAcked);
    const unready = acked.filter((id) => stored.get(id) !== "SUCCESS");
    figure(`races-${name}`, {
      ids: IDS,
      processes: MODES.length,
      writes: reports.reduce((n, r) => n + r.writes, 0),
      readyAcknowledged: acked.length,
      unreadyAfterReady: unready.length,
    });
    assert.equal(acked.length, IDS);
    assert.deepEqual(unready.slice(0, 10), []);
  });
}

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function racesScenario(shared: () => Cluster): void {
  describe("precedence races", () => {
    let cluster: Cluster;
    let pgUrl = "";
    const dir = mkdtempSync(join(tmpdir(), "tl-fault-race-"));
    const sqliteFile = join(dir, "race.db");
    before(async () => {
      cluster = shared();
      pgUrl = await cluster.createDatabase("races");
      await (await openBackend({ url: pgUrl })).close();
      await (await openBackend({ url: sqliteFile })).close();
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
    });
    raceSuite(
      "postgresql",
      () => pgUrl,
      async () =>
        new Map(
          (await cluster.query<{ task_id: string; status: string }>("races", "SELECT task_id, status FROM celery_taskmeta")).map((r) => [
            r.task_id,
            r.status,
          ]),
        ),
    );
    raceSuite(
      "sqlite",
      () => sqliteFile,
      async () => {
        const db = new Database(sqliteFile, { readonly: true });
        try {
          return new Map(
            (db.prepare("SELECT task_id, status FROM celery_taskmeta").all() as { task_id: string; status: string }[]).map((r) => [
              r.task_id,
              r.status,
            ]),
          );
        } finally {
          db.close();
        }
      },
    );
  });
}
