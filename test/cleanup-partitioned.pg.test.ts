/**
 * PostgreSQL only: cleanup on tables a DBA partitioned by hash of their key, as one
 * may do to an adopted Celery table (by hand or with pg_partman). Batches used to name rows by
 * ctid, which is unique only inside one partition: a batch of 10 deleted 23 rows, a fresh STARTED
 * row among them. Batches now name rows by task_id / taskset_id.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openBackend, states, type DatabaseBackend, type TaskState } from "../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";

const DAY = 86_400_000;

/** Rebuilds `table` as a table partitioned by hash of `key` in 4 partitions, rows and all. */
async function partitionByHash(url: string, table: string, key: string): Promise<void> {
  await queryDatabase(
    url,
    `
    DO $$ BEGIN
      ALTER TABLE ${table} RENAME TO ${table}_plain;
      CREATE TABLE ${table} (LIKE ${table}_plain INCLUDING DEFAULTS, PRIMARY KEY (id, ${key}), UNIQUE (${key})) PARTITION BY HASH (${key});
      FOR r IN 0..3 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF ${table} FOR VALUES WITH (MODULUS 4, REMAINDER %s)', '${table}_p' || r, r);
      END LOOP;
      CREATE INDEX ON ${table} (date_done);
      INSERT INTO ${table} SELECT * FROM ${table}_plain;
      DROP TABLE ${table}_plain;
    END $$`,
  );
}

describe("cleanup on a table partitioned by hash of task_id", { skip: await pgSkip() }, () => {
  let db: TestDatabase;
  let b: DatabaseBackend;
  before(async () => {
    db = await createTestDatabase("partitioned");
    b = await openBackend({ url: db.url, resultExpires: "1d" });
    await partitionByHash(db.url, "celery_taskmeta", "task_id");
    await partitionByHash(db.url, "celery_tasksetmeta", "taskset_id");
  });
  after(async () => {
    await b?.close();
    await db?.drop();
  });

  async function storeAged(count: number, ageMs: number, status: TaskState = states.SUCCESS): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await b.storeMany(
      ids.map((taskId) => ({ taskId, status, result: 1 })),
      { now: new Date(Date.now() - ageMs) },
    );
    return ids;
  }

  const remaining = async () =>
    (await queryDatabase<{ task_id: string }>(db.url, "SELECT task_id FROM celery_taskmeta")).map((r) => r.task_id).sort();

  it("the tables really are partitioned, with rows in every partition", async () => {
    const kinds = await queryDatabase<{ relname: string; relkind: string }>(
      db.url,
      "SELECT relname, relkind::text FROM pg_class WHERE relname IN ('celery_taskmeta', 'celery_tasksetmeta') ORDER BY relname",
    );
    assert.deepEqual(
      kinds.map((k) => k.relkind),
      ["p", "p"],
    );
  });

  it("deletes exactly the expired rows, batch by batch, and keeps fresh and unready rows", async () => {
    await storeAged(25, 2 * DAY);
    const fresh = await storeAged(10, DAY / 2);
    const started = Array.from({ length: 3 }, () => randomUUID());
    for (const id of started) await b.markAsStarted(id);
    const spread = await queryDatabase<{ n: string }>(db.url, "SELECT count(DISTINCT tableoid) AS n FROM celery_taskmeta");
    assert.equal(spread[0]!.n, "4", "rows land in all four partitions, so ctid values repeat across them");
    const batches: number[] = [];
    const report = await b.cleanup({ batchSize: 10, onProgress: (p) => p.phase === "tasks" && batches.push(p.batch) });
    assert.equal(report.tasks, 25);
    assert.deepEqual(batches, [10, 10, 5]);
    assert.deepEqual(await remaining(), [...fresh, ...started].sort());
    await b.forget([...fresh, ...started]);
  });

  it("per-state retention and stale deletion take exactly their rows", async () => {
    const oldSuccess = await storeAged(12, 2 * DAY);
    const oldFailure = await storeAged(12, 2 * DAY, states.FAILURE);
    const staleStarted = await storeAged(7, 40 * DAY, states.STARTED);
    const recentStarted = await storeAged(5, DAY, states.STARTED);
    const report = await b.cleanup({ batchSize: 5, keep: { FAILURE: "90d" }, staleAfter: "30d" });
    assert.equal(report.tasks, 12);
    assert.equal(report.stale, 7);
    assert.deepEqual(await remaining(), [...oldFailure, ...recentStarted].sort());
    void oldSuccess;
    void staleStarted;
    await b.forget([...oldFailure, ...recentStarted]);
  });

  it("stamps unaged rows written by others, a bounded batch at a time, and no others", async () => {
    const ids = Array.from({ length: 9 }, () => randomUUID());
    for (const id of ids) {
      await queryDatabase(db.url, "INSERT INTO celery_taskmeta (id, task_id, status) VALUES (nextval('task_id_sequence'), $1, 'STARTED')", [
        id,
      ]);
    }
    const done = await storeAged(4, DAY / 2);
    const report = await b.cleanup({ batchSize: 2, staleAfter: "30d", expires: null });
    assert.equal(report.stamped, 9);
    const unstamped = await queryDatabase<{ n: string }>(db.url, "SELECT count(*) AS n FROM celery_taskmeta WHERE date_updated IS NULL");
    assert.equal(unstamped[0]!.n, "0");
    assert.equal(report.stale, 0);
    await b.forget([...ids, ...done]);
  });

  it("deletes exactly the expired groups", async () => {
    const old = Array.from({ length: 13 }, () => randomUUID());
    const fresh = Array.from({ length: 6 }, () => randomUUID());
    for (const id of old) await b.saveGroup(id, [], { now: new Date(Date.now() - 2 * DAY) });
    for (const id of fresh) await b.saveGroup(id, []);
    const report = await b.cleanup({ batchSize: 4 });
    assert.equal(report.groups, 13);
    const left = (await queryDatabase<{ taskset_id: string }>(db.url, "SELECT taskset_id FROM celery_tasksetmeta"))
      .map((r) => r.taskset_id)
      .sort();
    assert.deepEqual(left, [...fresh].sort());
  });
});
