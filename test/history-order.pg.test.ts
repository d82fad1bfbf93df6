/**
 * History time order under concurrent writers, on PostgreSQL: several writers (two backends, each
 * with a pool of connections) race state changes on the same task ids. A writer stamps its time
 * before its statement waits for a pool connection and then for the row lock, so a later stamp
 * can take the lock first; the history must still read forward in time in id order.
 * PostgreSQL-only because only there do writers to one row wait on a row lock in parallel (SQLite
 * serialises whole transactions; its trigger gets the same rule, tested in history.ts's suite).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";

describe("history under concurrent writers on PostgreSQL", { skip: await pgSkip() }, () => {
  let db: TestDatabase;
  let writers: DatabaseBackend[] = [];

  before(async () => {
    db = await createTestDatabase("history_order");
    writers = [await openBackend({ url: db.url, poolSize: 6 })];
    writers.push(await openBackend({ url: db.url, poolSize: 6, migrate: false }));
  });
  after(async () => {
    for (const writer of writers) await writer.close();
    await db?.drop();
  });

  it("for every task, history in id order has non-decreasing dates", async () => {
    const tasks = Array.from({ length: 20 }, () => randomUUID());
    // 20 tasks x 2 backends x 6 racing callers x 4 retries each: every write appends an event
    // (a RETRY with a new retries count always does), 960 in all.
    await Promise.all(
      writers.flatMap((writer, w) =>
        Array.from({ length: 6 }, async (_, caller) => {
          for (let attempt = 0; attempt < 4; attempt++)
            await Promise.all(
              tasks.map((taskId) =>
                writer.markAsRetry(taskId, new Error("flaky"), { request: { retries: (w * 6 + caller) * 4 + attempt } }),
              ),
            );
        }),
      ),
    );
    const [{ events, backwards }] = (await queryDatabase<{ events: number; backwards: number }>(
      db.url,
      `SELECT count(*)::int AS events, (count(*) FILTER (WHERE date < previous))::int AS backwards
       FROM (SELECT date, lag(date) OVER (PARTITION BY task_id ORDER BY id) AS previous FROM celery_taskmeta_history) AS h`,
    )) as [{ events: number; backwards: number }];
    assert.equal(events, tasks.length * 2 * 6 * 4);
    assert.equal(backwards, 0, `${backwards} of ${events - tasks.length} adjacent events run backwards in time`);
  });
});
