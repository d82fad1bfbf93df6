/**
 * Celery's tables on MariaDB, both ways: tables Celery (SQLAlchemy 1.4+) created, with their BLOB,
 * TEXT, DATETIME and utf8mb4_general_ci, are adopted, and a value larger than such a column is
 * refused before anything is written, saying how to widen it. Also the server checks at open:
 * strict SQL mode, and max_allowed_packet.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import mysql from "mysql2/promise";
import { AsyncResult, openBackend, ServerSettingsError, states, ValueTooLargeError } from "../../src/index.js";
import { createTestDatabase, mysqlSkip, queryDatabase, type TestDatabase } from "../helpers/mysql.js";

const skip = await mysqlSkip();

/** The DDL SQLAlchemy's MariaDB dialect emits for Celery's models (sequences, BLOB, TEXT, DATETIME). */
const CELERY_DDL = [
  "CREATE SEQUENCE task_id_sequence",
  `CREATE TABLE celery_taskmeta (id INTEGER NOT NULL, task_id VARCHAR(155), status VARCHAR(50), result BLOB, date_done DATETIME,
    traceback TEXT, name VARCHAR(155), args BLOB, kwargs BLOB, worker VARCHAR(155), retries INTEGER, queue VARCHAR(155),
    PRIMARY KEY (id), UNIQUE (task_id)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  "CREATE SEQUENCE taskset_id_sequence",
  `CREATE TABLE celery_tasksetmeta (id INTEGER NOT NULL, taskset_id VARCHAR(155), result BLOB, date_done DATETIME,
    PRIMARY KEY (id), UNIQUE (taskset_id)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
];

/** As Celery stores a result: SELECT, then INSERT with the id from the sequence, date_done in whole seconds. */
async function celeryStore(url: string, taskId: string, status: string, result: Buffer): Promise<void> {
  await queryDatabase(
    url,
    "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, traceback) VALUES (NEXTVAL(task_id_sequence), ?, ?, ?, UTC_TIMESTAMP(), NULL)",
    [taskId, status, result],
  );
}

describe("MySQL: Celery's tables adopted, and the server's limits", { skip }, () => {
  const databases: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db.url;
  };
  after(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("adopts tables Celery created: its rows read, history and waking follow its writes, holds and cleanup work", async () => {
    const url = await fresh("adopt");
    for (const statement of CELERY_DDL) await queryDatabase(url, statement);
    const before = randomUUID();
    await celeryStore(url, before, "SUCCESS", Buffer.from('{"n": 1}'));
    const backend = await openBackend({ url, resultExtended: true });
    try {
      assert.deepEqual((await backend.getTaskMeta(before)).result, { n: 1 });
      // Celery's columns stay as Celery made them; taskledger's are added beside them.
      const columns = await queryDatabase<{ c: string; t: string }>(
        url,
        "SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'celery_taskmeta'",
      );
      const type = new Map(columns.map((r) => [r.c, r.t]));
      assert.equal(type.get("result"), "blob");
      assert.equal(type.get("date_done"), "datetime");
      assert.equal(type.get("date_updated"), "datetime(6)");
      // A waiter wakes on Celery's own write (the ready trigger), and its history is kept.
      const task = randomUUID();
      await backend.markAsStarted(task);
      const waiting = new AsyncResult(task, backend).get({ interval: 600_000, timeout: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await queryDatabase(
        url,
        "UPDATE celery_taskmeta SET status = 'SUCCESS', result = '7', date_done = UTC_TIMESTAMP() WHERE task_id = ?",
        [task],
      );
      assert.equal(await waiting, 7);
      assert.deepEqual(
        (await backend.getTaskHistory(task)).map((e) => e.status),
        [states.STARTED, states.SUCCESS],
      );
      // Holds and retention compare ids across taskledger's tables and Celery's collation.
      assert.equal(await backend.hold([before]), 1);
      const report = await backend.cleanup({ now: new Date(Date.now() + 10 * 86_400_000) });
      assert.equal(report.tasks, 1, "the held row stays, the other goes");
      assert.equal((await backend.getTaskMeta(before)).status, states.SUCCESS);
    } finally {
      await backend.close();
    }
  });

  it("a value larger than Celery's BLOB or TEXT is refused before writing, saying how to widen the column; widened, it is stored whole", async () => {
    const url = await fresh("adopt_wide");
    for (const statement of CELERY_DDL) await queryDatabase(url, statement);
    const backend = await openBackend({ url, resultExtended: true });
    const task = randomUUID();
    try {
      await backend.markAsStarted(task);
      const big = "x".repeat(70_000);
      await assert.rejects(backend.markAsDone(task, big), (error: unknown) => {
        assert.ok(error instanceof ValueTooLargeError, String(error));
        assert.equal(error.column, "result");
        assert.match(error.message, /taskledger migrate --widen/);
        assert.match(error.message, /ALTER TABLE `celery_taskmeta` MODIFY result LONGBLOB/);
        return true;
      });
      assert.equal((await backend.getTaskMeta(task)).status, states.STARTED, "nothing was written");
      const error = new Error("deep");
      error.stack = `Error: deep\n${"    at frame (file.js:1:1)\n".repeat(3_000)}`;
      await assert.rejects(backend.markAsFailure(task, error), (e: unknown) => e instanceof ValueTooLargeError && e.column === "traceback");
      await assert.rejects(
        backend.saveGroup(
          randomUUID(),
          Array.from({ length: 2_000 }, () => randomUUID()),
        ),
        ValueTooLargeError,
      );
    } finally {
      await backend.close();
    }
    const widened = await openBackend({ url });
    try {
      // What `taskledger migrate --widen` runs; a second run finds nothing left to widen.
      assert.equal((await widened.widenColumns()).length, 2);
      assert.deepEqual(await widened.widenColumns(), []);
      const types = await queryDatabase<{ c: string; t: string }>(
        url,
        "SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'celery_taskmeta' AND COLUMN_NAME IN ('result', 'traceback', 'date_done') ORDER BY 1",
      );
      assert.deepEqual(
        types.map((r) => [r.c, r.t]),
        [
          ["date_done", "datetime(6)"],
          ["result", "longblob"],
          ["traceback", "longtext"],
        ],
      );
      const big = "y".repeat(70_000);
      assert.equal(await widened.markAsDone(task, big), true);
      assert.equal((await widened.getTaskMeta(task)).result, big);
    } finally {
      await widened.close();
    }
  });

  it("a write larger than max_allowed_packet is refused before it is sent, naming the setting", async () => {
    const url = await fresh("packet");
    const backend = await openBackend({ url });
    try {
      const [row] = await queryDatabase<{ p: number }>(url, "SELECT @@max_allowed_packet AS p");
      const value = Buffer.alloc(Number(row!.p) + 1024, 1);
      await assert.rejects(backend.markAsDone(randomUUID(), value), (error: unknown) => {
        assert.ok(error instanceof ValueTooLargeError, String(error));
        assert.equal(error.column, "statement");
        assert.match(error.message, /max_allowed_packet/);
        return true;
      });
    } finally {
      await backend.close();
    }
  });

  it("a session that is not in strict SQL mode is refused at open, saying what to set", async () => {
    const url = await fresh("strict");
    const pool = mysql.createPool({ uri: url, connectionLimit: 2 });
    pool.pool.on("connection", (connection) => connection.query("SET SESSION sql_mode = ''", () => undefined));
    try {
      await assert.rejects(openBackend({ client: pool }), (error: unknown) => {
        assert.ok(error instanceof ServerSettingsError, String(error));
        assert.match(error.message, /STRICT_TRANS_TABLES/);
        return true;
      });
    } finally {
      await pool.end();
    }
  });

  it("task ids compare byte for byte on tables taskledger creates", async () => {
    const url = await fresh("binary_ids");
    const backend = await openBackend({ url });
    try {
      await backend.markAsDone("Task-A", 1);
      await backend.markAsDone("task-a", 2);
      await backend.markAsDone("task-á", 3);
      assert.equal((await backend.getTaskMeta("Task-A")).result, 1);
      assert.equal((await backend.getTaskMeta("task-a")).result, 2);
      assert.equal((await backend.getTaskMeta("task-á")).result, 3);
      assert.equal((await backend.getTaskMeta("TASK-A")).status, states.PENDING);
    } finally {
      await backend.close();
    }
  });
});
