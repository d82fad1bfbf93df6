/**
 * `kill -9` of a process inside storeMany of 10,000 rows, at several points: the batch is
 * one transaction, so the database holds 0 or 10,000 of its rows, never a part. Both dialects.
 * The kill points are spread over the time one uncut storeMany takes on this machine.
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

const ROWS = 10_000;
/** Kill points as fractions of one uncut storeMany's duration (from "storing" to "stored"). */
const KILL_AT = [0.1, 0.4, 0.7, 1.0];

interface Side {
  name: string;
  url: () => string;
  count: (prefix: string) => Promise<number>;
}

function killSuite(side: Side) {
  it(`${side.name}: every kill leaves 0 or ${ROWS.toLocaleString("en")} rows of the batch, never a part`, async () => {
    const uncut = startChild("store-many.mjs", [side.url(), "uncut", String(ROWS)]);
    const done = await uncut.line("stored");
    assert.equal((await uncut.exit).code, 0);
    const storeMs = Number(done.split(" ")[1]);
    assert.equal(await side.count("uncut"), ROWS);
    const outcomes: number[] = [];
    for (const [k, fraction] of KILL_AT.entries()) {
      const prefix = `kill${k}`;
      const child = startChild("store-many.mjs", [side.url(), prefix, String(ROWS)]);
      await child.line("storing");
      await new Promise((resolve) => setTimeout(resolve, Math.round(storeMs * fraction)));
      child.kill9();
      await child.exit;
      outcomes.push(await side.count(prefix));
    }
    const partial = outcomes.filter((n) => n !== 0 && n !== ROWS);
    figure(`kill-store-many-${side.name}`, {
      rows: ROWS,
      uncutMs: storeMs,
      killPoints: KILL_AT.map((f) => Math.round(storeMs * f)).join("/"),
      rowsAfterKill: outcomes.join("/"),
      partial: partial.length,
    });
    assert.deepEqual(partial, [], `partial batches: ${outcomes.join(", ")}`);
  });
}

/** The same kill points on another server's throwaway cluster (test/faults/mysql.test.ts). */
export function killStoreManyOn(shared: () => Cluster, name: string): void {
  describe(`kill -9 inside storeMany on ${name}`, () => {
    let cluster: Cluster;
    let url = "";
    before(async () => {
      cluster = shared();
      url = await cluster.createDatabase("kill");
      await (await openBackend({ url })).close();
    });
    killSuite({
      name: name.toLowerCase(),
      url: () => url,
      count: async (prefix) =>
        Number(
          (
            await cluster.query<{ n: string }>("kill", "SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE $1", [`${prefix}-%`])
          )[0]!.n,
        ),
    });
  });
}

/** Runs on the fault suite's own cluster (test/faults/pg.test.ts). */
export function killStoreManyScenario(shared: () => Cluster): void {
  describe("kill -9 inside storeMany", () => {
    let cluster: Cluster;
    let pgUrl = "";
    const dir = mkdtempSync(join(tmpdir(), "tl-fault-kill-"));
    const sqliteFile = join(dir, "kill.db");
    before(async () => {
      cluster = shared();
      pgUrl = await cluster.createDatabase("kill");
      await (await openBackend({ url: pgUrl })).close();
      await (await openBackend({ url: sqliteFile })).close();
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
    });
    killSuite({
      name: "postgresql",
      url: () => pgUrl,
      count: async (prefix) =>
        Number(
          (
            await cluster.query<{ n: string }>("kill", "SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE $1", [`${prefix}-%`])
          )[0]!.n,
        ),
    });
    killSuite({
      name: "sqlite",
      url: () => sqliteFile,
      count: async (prefix) => {
        const db = new Database(sqliteFile, { readonly: true });
        try {
          return (db.prepare("SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE ?").get(`${prefix}-%`) as { n: number }).n;
        } finally {
          db.close();
        }
      },
    });
  });
}
