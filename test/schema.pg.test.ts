/**
 * PostgreSQL only: the migrated schema is Celery's (research/celery-ddl.md) plus nullable
 * additions, and rows written the way Celery writes them work with taskledger.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openBackend, states, type DatabaseBackend } from "../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";
import { CELERY_TASK_COLUMNS, CELERY_TASKSET_COLUMNS, TASKLEDGER_TASK_COLUMNS } from "./helpers/celery-schema.js";

describe("PostgreSQL schema", { skip: await pgSkip() }, () => {
  let db: TestDatabase;
  let backend: DatabaseBackend;
  before(async () => {
    db = await createTestDatabase("schema");
    backend = await openBackend({ url: db.url, resultExtended: true });
  });
  after(async () => {
    await backend?.close();
    await db?.drop();
  });

  const columns = (table: string) =>
    queryDatabase<{ name: string; type: string; length: number | null; nullable: string }>(
      db.url,
      `SELECT column_name AS name, data_type AS type, character_maximum_length AS length, is_nullable AS nullable
       FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
      [table],
    );

  it("celery_taskmeta has Celery's columns, types and lengths, then only nullable additions", async () => {
    const actual = await columns("celery_taskmeta");
    assert.deepEqual(
      actual.slice(0, CELERY_TASK_COLUMNS.length).map((c) => [c.name, c.type, c.length, c.nullable]),
      CELERY_TASK_COLUMNS.map((c) => [c.name, c.pg, c.length, c.nullable]),
    );
    const added = actual.slice(CELERY_TASK_COLUMNS.length);
    assert.deepEqual(
      added.map((c) => c.name),
      TASKLEDGER_TASK_COLUMNS,
    );
    assert.ok(added.every((c) => c.nullable === "YES"));
  });

  it("celery_tasksetmeta has exactly Celery's columns", async () => {
    const actual = await columns("celery_tasksetmeta");
    assert.deepEqual(
      actual.map((c) => [c.name, c.type, c.length, c.nullable]),
      CELERY_TASKSET_COLUMNS.map((c) => [c.name, c.pg, c.length, c.nullable]),
    );
  });

  it("ids come from task_id_sequence and taskset_id_sequence, and the unique and date_done indexes carry Celery's names", async () => {
    const sequences = await queryDatabase(
      db.url,
      "SELECT sequence_name AS name, data_type AS type FROM information_schema.sequences WHERE sequence_name NOT LIKE 'taskledger%' ORDER BY 1",
    );
    assert.deepEqual(sequences, [
      { name: "task_id_sequence", type: "bigint" },
      { name: "taskset_id_sequence", type: "bigint" },
    ]);
    const indexes = await queryDatabase<{ indexname: string }>(
      db.url,
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('celery_taskmeta', 'celery_tasksetmeta') ORDER BY 1",
    );
    assert.deepEqual(
      indexes.map((i) => i.indexname),
      [
        "celery_taskmeta_pkey",
        "celery_taskmeta_task_id_key",
        "celery_tasksetmeta_pkey",
        "celery_tasksetmeta_taskset_id_key",
        "ix_celery_taskmeta_date_done",
        // The web view's filters (migration 0004)
        "ix_celery_taskmeta_group_id_id",
        "ix_celery_taskmeta_name_id",
        "ix_celery_taskmeta_queue_id",
        "ix_celery_taskmeta_status_id",
        "ix_celery_taskmeta_task_id_pattern",
        "ix_celery_taskmeta_unready_date_updated",
        "ix_celery_taskmeta_worker_id",
        "ix_celery_tasksetmeta_date_done",
      ],
    );
  });

  it("accepts rows inserted exactly as Celery inserts them, and taskledger reads and updates them", async () => {
    // Celery 5.2: INSERT with nextval(...) RETURNING id, then an UPDATE of every mapped column.
    const [{ id }] = (await queryDatabase<{ id: number }>(
      db.url,
      "INSERT INTO celery_taskmeta (id, task_id, status, date_done) VALUES (nextval('task_id_sequence'), $1, $2, $3) RETURNING celery_taskmeta.id",
      ["celery-1", "PENDING", "2026-11-21 20:59:22.165484"],
    )) as [{ id: number }];
    await queryDatabase(
      db.url,
      "UPDATE celery_taskmeta SET status=$1, result=$2, date_done=$3, traceback=$4, name=$5, args=$6, kwargs=$7, worker=$8, retries=$9, queue=$10 WHERE celery_taskmeta.id = $11",
      [
        "SUCCESS",
        Buffer.from('{"n": 1}'),
        "2026-11-21 20:59:22.165484",
        null,
        "proj.tasks.add",
        Buffer.from("[2, 3]"),
        Buffer.from('{"z": "\\u00e9", "flag": true}'),
        "celery@worker1",
        1,
        "celery",
        id,
      ],
    );
    const meta = await backend.getTaskMeta("celery-1");
    assert.equal(meta.status, states.SUCCESS);
    assert.deepEqual(meta.result, { n: 1 });
    assert.deepEqual(meta.args, [2, 3]);
    assert.deepEqual(meta.kwargs, { z: "é", flag: true });
    assert.equal(meta.dateDone?.toISOString(), "2026-11-21T20:59:22.165Z");
    assert.equal(await backend.markAsStarted("celery-1"), false, "precedence holds on Celery's rows too");
    await backend.markAsDone("tl-1", 1);
    const [{ id: next }] = (await queryDatabase<{ id: number }>(
      db.url,
      "INSERT INTO celery_taskmeta (id, task_id, status) VALUES (nextval('task_id_sequence'), 'celery-2', 'PENDING') RETURNING id",
    )) as [{ id: number }];
    assert.ok(next > id, "Celery and taskledger draw from the same sequence");
    assert.equal((await backend.getTaskMeta("tl-1")).status, states.SUCCESS);
    await queryDatabase(
      db.url,
      "INSERT INTO celery_tasksetmeta (id, taskset_id, result, date_done) VALUES (nextval('taskset_id_sequence'), 'g-celery', NULL, now())",
    );
    await backend.saveGroup("g-tl", ["a"]);
    const groups = await queryDatabase<{ id: number; taskset_id: string }>(
      db.url,
      "SELECT id, taskset_id FROM celery_tasksetmeta ORDER BY id",
    );
    assert.deepEqual(
      groups.map((g) => g.taskset_id),
      ["g-celery", "g-tl"],
      "taskledger's group row draws its id after Celery's, from the same sequence",
    );
    assert.ok(groups[1]!.id > groups[0]!.id);
    assert.deepEqual((await backend.restoreGroup("g-tl"))?.results, ["a"]);
  });

  it("a hand-written INSERT without an id gets one from the sequence", async () => {
    await queryDatabase(db.url, "INSERT INTO celery_taskmeta (task_id, status) VALUES ('manual-1', 'STARTED')");
    assert.equal((await backend.getTaskMeta("manual-1")).status, states.STARTED);
  });
});
