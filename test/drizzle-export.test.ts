/**
 * `taskledger/drizzle`: the exported tables describe configured names and schemas, decode what the backend wrote, and run a
 * join; `migrate()` runs over the application's own connection and leaves it open.
 * (That they type-check in an application's strict TypeScript: integration/drizzle-types.test.ts.)
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { eq, sql } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzleSqlite } from "drizzle-orm/better-sqlite3";
import pg from "pg";
import { CorruptValueError, openBackend } from "../src/index.js";
import { drizzleKitTablesFilter, migrate, pgTables, sqliteTables } from "../src/drizzle.js";
import { createTestDatabase, pgSkip } from "./helpers/pg.js";
import { tempDir } from "./helpers/sqlite.js";

const dir = tempDir("drizzle-export");
after(() => dir.remove());
const names = { tableNames: { task: "job_results", group: "job_groups" } };

const pgSkipped = await pgSkip();

describe("taskledger/drizzle", () => {
  it("names the tables drizzle-kit must leave alone, following the configured names", () => {
    assert.deepEqual(drizzleKitTablesFilter(), ["!celery_taskmeta", "!celery_taskmeta_*", "!celery_tasksetmeta", "!taskledger_*"]);
    assert.deepEqual(drizzleKitTablesFilter(names), ["!job_results", "!job_results_*", "!job_groups", "!taskledger_*"]);
    assert.throws(() => pgTables({ tableNames: { task: "bad name" } }), /plain SQL identifier/);
  });

  it("on SQLite: migrate() over the application's Database, configured names, decoded values and UTC dates in a join", async () => {
    const sqlite = new Database(dir.file("app.db"));
    try {
      const status = await migrate({ client: sqlite, ...names });
      assert.deepEqual(status.pending, []);
      assert.equal(sqlite.open, true);
      const backend = await openBackend({ client: sqlite, ...names, migrate: false });
      const taskId = randomUUID();
      await backend.markAsDone(taskId, { pages: 3 });
      await backend.saveGroup("g1", [taskId]);
      sqlite.exec("CREATE TABLE reports (id TEXT PRIMARY KEY, title TEXT)");
      sqlite.prepare("INSERT INTO reports VALUES (?, 'Q3')").run(taskId);
      const db = drizzleSqlite(sqlite);
      const { task, taskSet } = sqliteTables(names);
      const rows = db
        .select({ title: sql<string>`reports.title`, status: task.status, result: task.result, dateDone: task.dateDone })
        .from(task)
        .innerJoin(sql`reports`, sql`reports.id = ${task.taskId}`)
        .all();
      const meta = await backend.getTaskMeta(taskId);
      assert.deepEqual(rows, [{ title: "Q3", status: "SUCCESS", result: { pages: 3 }, dateDone: meta.dateDone }]);
      assert.equal(db.select().from(taskSet).all().length, 1);
      // A corrupt value is reported in its row, not thrown for the whole query.
      sqlite.prepare("UPDATE job_results SET result = x'ff00' WHERE task_id = ?").run(taskId);
      const [corrupt] = db.select({ result: task.result }).from(task).where(eq(task.taskId, taskId)).all();
      assert.ok(corrupt!.result instanceof CorruptValueError);
      await backend.close();
      assert.equal(sqlite.open, true);
    } finally {
      sqlite.close();
    }
  });

  it(
    "on PostgreSQL: migrate() over the application's pool, a schema, decoded values and UTC dates in a join",
    { skip: pgSkipped },
    async () => {
      const database = await createTestDatabase("drizzle_export");
      const pool = new pg.Pool({ connectionString: database.url });
      // pool.end() resolves before its last client has finished ending; the drop after it may
      // meet that client, which then emits "terminating connection" on the pool.
      pool.on("error", () => undefined);
      try {
        const configured = { ...names, tableSchemas: { task: "jobs", group: "jobs" } };
        const status = await migrate({ client: drizzlePg(pool), ...configured });
        assert.deepEqual(status.pending, []);
        const backend = await openBackend({ client: pool, ...configured, migrate: false });
        const taskId = randomUUID();
        await backend.markAsFailure(taskId, new RangeError("quarter out of range"));
        await pool.query("CREATE TABLE reports (id text PRIMARY KEY, title text)");
        await pool.query("INSERT INTO reports VALUES ($1, 'Q3')", [taskId]);
        const db = drizzlePg(pool);
        const { task } = pgTables(configured);
        const rows = await db
          .select({ title: sql<string>`reports.title`, status: task.status, result: task.result, dateDone: task.dateDone })
          .from(task)
          .innerJoin(sql`reports`, sql`reports.id = ${task.taskId}`);
        const meta = await backend.getTaskMeta(taskId);
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, "FAILURE");
        assert.deepEqual(rows[0]!.dateDone, meta.dateDone);
        assert.equal((rows[0]!.result as { exc_type: string }).exc_type, "RangeError");
        await backend.close();
        assert.equal((await pool.query("SELECT count(*)::int AS n FROM jobs.job_results")).rows[0].n, 1);
      } finally {
        await pool.end();
        await database.drop();
      }
    },
  );
});
