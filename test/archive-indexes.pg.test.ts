/**
 * PostgreSQL only: the partitioned archive's indexes by name and definition (a pattern-ops btree
 * for id prefixes, a hash index on the history archive), read from pg_indexes and proven used by
 * EXPLAIN. They are PostgreSQL's physical design, so no other dialect has them to check; the
 * behaviour they serve (lookups by id, prefix and history across tiers) is in the shared suite.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { openBackend, states, type DatabaseBackend } from "../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";

const DAY = 86_400_000;

/** The plan of `statement` with sequential scans priced out: an index scan when any index can answer it. */
async function explainWithoutSeqScans(url: string, statement: string, values: unknown[]): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET enable_seqscan = off");
    const rows = (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${statement}`, values)).rows;
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}

describe("the archive's indexes on PostgreSQL", { skip: await pgSkip() }, () => {
  const databases: TestDatabase[] = [];
  const backends: DatabaseBackend[] = [];
  after(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("archived ids are found by index: by id, by id prefix, and their history; an older archive's indexes are replaced", async () => {
    const db = await createTestDatabase("archive_indexes");
    databases.push(db);
    const fresh = db.url;
    const a = await openBackend({ url: fresh, resultExpires: null });
    backends.push(a);
    await a.createArchive();
    // An archive made before its indexes changed: a plain btree on task_id, (task_id, id) on history.
    await queryDatabase(fresh, "DROP INDEX celery_taskmeta_archive_tid_pattern");
    await queryDatabase(fresh, "DROP INDEX celery_taskmeta_history_archive_hash");
    await queryDatabase(fresh, "CREATE INDEX celery_taskmeta_archive_task_id ON celery_taskmeta_archive (task_id)");
    await queryDatabase(fresh, "CREATE INDEX celery_taskmeta_history_archive_task_id ON celery_taskmeta_history_archive (task_id, id)");
    await a.createArchive();
    const indexes = await queryDatabase<{ name: string; def: string }>(
      fresh,
      "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename IN ('celery_taskmeta_archive', 'celery_taskmeta_history_archive') ORDER BY 1",
    );
    const names = indexes.map((i) => i.name);
    assert.ok(
      !names.includes("celery_taskmeta_archive_task_id") && !names.includes("celery_taskmeta_history_archive_task_id"),
      names.join(),
    );
    assert.match(indexes.find((i) => i.name === "celery_taskmeta_archive_tid_pattern")!.def, /varchar_pattern_ops/);
    assert.match(indexes.find((i) => i.name === "celery_taskmeta_history_archive_hash")!.def, /USING hash/);
    const ids = Array.from({ length: 30 }, () => randomUUID());
    for (const id of ids) await a.markAsStarted(id, null, { now: new Date(Date.now() - 20 * DAY) });
    await a.storeMany(
      ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
      { now: new Date(Date.now() - 20 * DAY) },
    );
    assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "400d" })).archived, 30);
    assert.deepEqual(
      (await a.getTaskHistory(ids[0]!)).map((e) => e.status),
      [states.STARTED, states.SUCCESS],
    );
    const prefix = ids[1]!.slice(0, 6);
    assert.deepEqual(
      (await a.audit.list({ idPrefix: prefix })).map((e) => e.row.taskId),
      ids.filter((id) => id.startsWith(prefix)),
    );
    // With sequential scans priced out, each lookup must find a usable index on every partition.
    for (const [statement, value] of [
      ["SELECT * FROM celery_taskmeta_archive WHERE task_id = $1::varchar", ids[2]!],
      ["SELECT * FROM celery_taskmeta_archive WHERE task_id LIKE $1", `${prefix}%`],
      ["SELECT * FROM celery_taskmeta_history_archive WHERE task_id = $1::varchar ORDER BY id", ids[2]!],
    ] as const) {
      const text = await explainWithoutSeqScans(fresh, statement, [value]);
      assert.doesNotMatch(text, /Seq Scan/, `${statement}\n${text}`);
      assert.match(text, /Index/, text);
    }
  });
});
