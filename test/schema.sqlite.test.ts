/**
 * SQLite only: the migrated file has Celery's columns and type names (research/celery-ddl.md)
 * plus nullable additions, runs in WAL mode, and rows written the way Celery writes them work.
 */
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { after, before, describe, it } from "node:test";
import { openBackend, states, type DatabaseBackend } from "../src/index.js";
import { CELERY_TASK_COLUMNS, CELERY_TASKSET_COLUMNS, TASKLEDGER_TASK_COLUMNS } from "./helpers/celery-schema.js";
import { tempDir } from "./helpers/sqlite.js";

describe("SQLite schema", () => {
  const dir = tempDir("schema");
  const file = dir.file("schema.db");
  let backend: DatabaseBackend;
  let raw: Database.Database;
  before(async () => {
    backend = await openBackend({ url: `sqlite:${file}`, resultExtended: true });
    raw = new Database(file);
  });
  after(async () => {
    raw?.close();
    await backend?.close();
    dir.remove();
  });

  const columns = (table: string) =>
    (raw.prepare(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: number }[]).map((c) => [
      c.name,
      c.type.toUpperCase(),
      c.notnull ? "NO" : "YES",
    ]);

  it("celery_taskmeta has Celery's columns and type names, then only nullable additions", () => {
    const actual = columns("celery_taskmeta");
    assert.deepEqual(
      actual.slice(0, CELERY_TASK_COLUMNS.length),
      CELERY_TASK_COLUMNS.map((c) => [c.name, c.sqlite, c.nullable]),
    );
    const added = actual.slice(CELERY_TASK_COLUMNS.length);
    assert.deepEqual(
      added.map((c) => c[0]),
      TASKLEDGER_TASK_COLUMNS,
    );
    assert.ok(added.every((c) => c[2] === "YES"));
    assert.deepEqual(
      columns("celery_tasksetmeta"),
      CELERY_TASKSET_COLUMNS.map((c) => [c.name, c.sqlite, c.nullable]),
    );
  });

  it("has the unique and date_done indexes under Celery's names, and runs in WAL mode", () => {
    const indexes = (
      raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'celery_%' ORDER BY 1").all() as { name: string }[]
    ).map((r) => r.name);
    assert.deepEqual(indexes, [
      "celery_taskmeta_task_id_key",
      "celery_tasksetmeta_taskset_id_key",
      "ix_celery_taskmeta_date_done",
      // The web view's filters (migration 0004)
      "ix_celery_taskmeta_group_id_id",
      "ix_celery_taskmeta_history_task_id",
      "ix_celery_taskmeta_name_id",
      "ix_celery_taskmeta_queue_id",
      "ix_celery_taskmeta_status_id",
      "ix_celery_taskmeta_unready_date_updated",
      "ix_celery_taskmeta_webhook_outbox_dead",
      "ix_celery_taskmeta_webhook_outbox_due",
      "ix_celery_taskmeta_webhook_outbox_webhook_id",
      "ix_celery_taskmeta_webhook_task_id",
      "ix_celery_taskmeta_worker_id",
      "ix_celery_tasksetmeta_date_done",
      "sqlite_autoindex_celery_taskmeta_hold_1",
    ]);
    assert.equal(raw.pragma("journal_mode", { simple: true }), "wal");
  });

  it("accepts rows inserted as Celery inserts them (no id, DATETIME text) and reads them", async () => {
    const info = raw
      .prepare("INSERT INTO celery_taskmeta (task_id, status, date_done) VALUES (?, 'PENDING', '2026-11-21 20:59:22.451374')")
      .run("celery-1");
    raw
      .prepare(
        "UPDATE celery_taskmeta SET status = ?, result = ?, date_done = ?, traceback = NULL, name = ?, args = ?, kwargs = ?, worker = ?, retries = ?, queue = ? WHERE id = ?",
      )
      .run(
        "SUCCESS",
        Buffer.from("[1, 2]"),
        "2026-11-21 20:59:22.451374",
        "proj.tasks.add",
        Buffer.from("[2, 3]"),
        Buffer.from('{"flag": true}'),
        "celery@worker1",
        1,
        "celery",
        info.lastInsertRowid,
      );
    const meta = await backend.getTaskMeta("celery-1");
    assert.equal(meta.status, states.SUCCESS);
    assert.deepEqual(meta.result, [1, 2]);
    assert.deepEqual(meta.args, [2, 3]);
    assert.equal(meta.dateDone?.toISOString(), "2026-11-21T20:59:22.451Z");
    await backend.markAsDone("tl-1", 1);
    const stored = raw.prepare("SELECT date_done, typeof(date_done) AS t FROM celery_taskmeta WHERE task_id = 'tl-1'").get() as {
      date_done: string;
      t: string;
    };
    assert.equal(stored.t, "text");
    assert.match(stored.date_done, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/);
  });
});
