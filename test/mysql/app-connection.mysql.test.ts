/**
 * taskledger over the application's own mysql2 pool (mysql2's defaults: found rows counted, times
 * as Dates in local time), in the application's transaction, and `taskledger/drizzle` on MySQL:
 * migrate() over drizzle(pool), the exported tables in a join.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import { AsyncResult, CorruptValueError, DatabaseMismatchError, NotInTransactionError, openBackend, states } from "../../src/index.js";
import { migrate, mysqlTables } from "../../src/drizzle.js";
import { createTestDatabase, mysqlSkip, type TestDatabase } from "../helpers/mysql.js";

const skip = await mysqlSkip();
const names = { tableNames: { task: "job_results", group: "job_groups" } };

describe("MySQL: the application's pool and transactions, and taskledger/drizzle", { skip }, () => {
  let database: TestDatabase;
  let other: TestDatabase;
  let pool: mysql.Pool;
  before(async () => {
    database = await createTestDatabase("app_pool");
    other = await createTestDatabase("app_other");
    // mysql2's defaults, as an application would create it: FOUND_ROWS on, no dateStrings.
    pool = mysql.createPool({ uri: database.url, connectionLimit: 4 });
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
    await other?.drop();
  });

  it("migrate() over drizzle(pool), then the exported tables decode values and UTC dates in a join", async () => {
    const status = await migrate({ client: drizzle(pool), ...names });
    assert.deepEqual(status.pending, []);
    const backend = await openBackend({ client: pool, ...names, migrate: false });
    const taskId = randomUUID();
    await backend.markAsDone(taskId, { pages: 3 });
    await pool.query("CREATE TABLE reports (id varchar(64) PRIMARY KEY, title text)");
    await pool.query("INSERT INTO reports VALUES (?, 'Q3')", [taskId]);
    const db = drizzle(pool);
    const { task } = mysqlTables(names);
    const rows = await db
      .select({ title: sql<string>`reports.title`, status: task.status, result: task.result, dateDone: task.dateDone })
      .from(task)
      .innerJoin(sql`reports`, sql`reports.id = ${task.taskId}`);
    const meta = await backend.getTaskMeta(taskId);
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0]!.result, { pages: 3 });
    assert.equal(rows[0]!.status, "SUCCESS");
    assert.equal(meta.dateDone?.getTime(), (await backend.getTaskMeta(taskId)).dateDone?.getTime());
    await pool.query("UPDATE job_results SET result = x'ff00' WHERE task_id = ?", [taskId]);
    const [corrupt] = await db.select({ result: task.result }).from(task).where(eq(task.taskId, taskId));
    assert.ok(corrupt!.result instanceof CorruptValueError);
    await backend.close();
    // The pool is the application's: still open.
    await pool.query("SELECT 1");
  });

  it("on a pool that counts found rows the precedence guard still reports refused writes, one row and many", async () => {
    const backend = await openBackend({ client: pool, ...names, migrate: false });
    try {
      const task = randomUUID();
      assert.equal(await backend.markAsStarted(task), true);
      assert.equal(await backend.markAsDone(task, 1), true);
      assert.equal(await backend.markAsStarted(task), false, "a late STARTED was reported as written");
      const fresh = randomUUID();
      const written = await backend.storeMany([
        { taskId: task, status: states.STARTED },
        { taskId: fresh, status: states.SUCCESS, result: 2 },
      ]);
      assert.equal(written, 1);
      assert.equal(await backend.hold([task, fresh]), 2);
      assert.equal(await backend.hold([task]), 0);
      assert.equal((await backend.getTaskMeta(task)).status, states.SUCCESS);
    } finally {
      await backend.close();
    }
  });

  it("records inside the application's transaction: rolled back with it, woken at its commit", async () => {
    const backend = await openBackend({ client: pool, ...names, migrate: false });
    try {
      const connection = await pool.getConnection();
      try {
        assert.throws(() => backend.inTransaction(connection), NotInTransactionError);
        const rolledBack = randomUUID();
        await connection.beginTransaction();
        await backend.inTransaction(connection).markAsDone(rolledBack, 1);
        await connection.rollback();
        assert.equal(await new AsyncResult(rolledBack, backend).exists(), false);
        const committed = randomUUID();
        const waiting = new AsyncResult(committed, backend).get({ interval: 600_000, timeout: 10_000 });
        await connection.beginTransaction();
        await backend.inTransaction(connection).markAsDone(committed, "in the app's transaction");
        await connection.commit();
        assert.equal(await waiting, "in the app's transaction");
        assert.throws(() => backend.inTransaction(connection), NotInTransactionError, "a connection past COMMIT");
      } finally {
        connection.release();
      }
      // A drizzle transaction over the same pool.
      const viaDrizzle = randomUUID();
      await drizzle(pool).transaction(async (tx) => {
        await backend.inTransaction(tx).markAsDone(viaDrizzle, 7);
      });
      assert.equal(await new AsyncResult(viaDrizzle, backend).get({ timeout: 5_000 }), 7);
      // A transaction on another database is refused before anything is written there.
      const elsewhere = await mysql.createConnection(other.url);
      try {
        await elsewhere.beginTransaction();
        await assert.rejects(backend.inTransaction(elsewhere).markAsDone(randomUUID(), 1), DatabaseMismatchError);
        await elsewhere.rollback();
      } finally {
        await elsewhere.end();
      }
    } finally {
      await backend.close();
    }
  });
});
