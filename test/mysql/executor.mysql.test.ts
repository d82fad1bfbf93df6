/**
 * The executor's hot path on a real MariaDB/MySQL server: statements go through mysql2's
 * pool.execute, which cannot say which connection ran them, so a statement made stale by another
 * session's DDL (history triggers) must still be prepared again on every connection of the pool.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createTestDatabase, mysqlSkip, type TestDatabase } from "../helpers/mysql.js";

const skip = await mysqlSkip();

describe("MySQL executor: prepared statements through pool.execute", { skip }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase("executor");
  });
  after(async () => {
    await db?.drop();
  });

  it("stores on every pooled connection after another process switches history on, and history records them", async () => {
    const writer: DatabaseBackend = await openBackend({ url: db.url, poolSize: 4 });
    const other = await openBackend({ url: db.url, migrate: false, poolSize: 1 });
    try {
      await other.setHistory(false); // on by default: off, so that switching it on below is DDL after the prepare
      // Prepare the store and the read on all four connections (concurrent callers take them all).
      await Promise.all(Array.from({ length: 8 }, () => writer.markAsDone(randomUUID(), 1)));
      assert.equal(await other.setHistory(true), true);
      const ids = Array.from({ length: 8 }, () => randomUUID());
      // Twice per connection: the second round meets connections the first round's retry cleared.
      await Promise.all(ids.map((taskId) => writer.markAsDone(taskId, 2)));
      await Promise.all(ids.map((taskId) => writer.markAsDone(taskId, 3)));
      for (const taskId of ids) {
        assert.equal((await writer.getTaskMeta(taskId)).result, 3);
        assert.ok((await writer.getTaskHistory(taskId)).length >= 1, "the history trigger ran for the store");
      }
    } finally {
      await writer.close();
      await other.close();
    }
  });
});
