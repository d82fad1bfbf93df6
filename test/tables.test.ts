/**
 * Celery's database_table_names and database_table_schemas: custom names (and, on PostgreSQL, a
 * schema) apply to the tables, their sequences, indexes and migrations, and to every statement.
 */
import assert from "node:assert/strict";
import { untilWaiting } from "./helpers/waiting.js";
import Database from "better-sqlite3";
import { after, describe, it } from "node:test";
import { resolveTables } from "../src/db/tables.js";
import { AsyncResult, ConfigError, GroupResult, openBackend, states } from "../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";
import { tempDir } from "./helpers/sqlite.js";

const tableNames = { task: "audit_tasks", group: "audit_groups" };

describe("configured table names and schemas", async () => {
  const dir = tempDir("tables");
  const databases: TestDatabase[] = [];
  after(async () => {
    dir.remove();
    await Promise.all(databases.map((db) => db.drop()));
  });

  it("identifiers are validated, never spliced raw", async () => {
    assert.throws(() => resolveTables("postgresql", { task: 'x"; DROP TABLE y; --' }), ConfigError);
    assert.throws(() => resolveTables("postgresql", { taskSchema: "a b" }), ConfigError);
    assert.throws(() => resolveTables("sqlite", { taskSchema: "results" }), ConfigError);
    assert.throws(() => resolveTables("sqlite", { task: "same", group: "same" }), ConfigError);
    await assert.rejects(openBackend({ url: ":memory:", tableNames: { task: "bad-name" } }), ConfigError);
  });

  it("on SQLite the tables, indexes and every operation use the configured names", async () => {
    const file = dir.file("names.db");
    const backend = await openBackend({ url: `sqlite:${file}`, tableNames });
    try {
      await backend.markAsDone("t1", 1);
      assert.deepEqual(
        (await backend.getTaskHistory("t1")).map((e) => e.status),
        ["SUCCESS"],
        "history under the configured names (#11)",
      );
      await new GroupResult("g1", ["t1"], backend).save();
      assert.deepEqual((await backend.restoreGroup("g1"))?.results, ["t1"]);
      assert.equal((await backend.cleanup({ now: new Date(Date.now() + 10 * 86_400_000) })).tasks, 1);
      const raw = new Database(file);
      const names = (
        raw.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((r) => r.name);
      raw.close();
      assert.deepEqual(names, [
        "audit_groups",
        "audit_groups_taskset_id_key",
        "audit_tasks",
        "audit_tasks_history",
        "audit_tasks_hold",
        "audit_tasks_task_id_key",
        "audit_tasks_webhook",
        "audit_tasks_webhook_outbox",
        "ix_audit_groups_date_done",
        "ix_audit_tasks_date_done",
        // The web view's indexes (migration 0004), renamed with the table
        "ix_audit_tasks_group_id_id",
        "ix_audit_tasks_history_task_id",
        "ix_audit_tasks_name_id",
        "ix_audit_tasks_queue_id",
        "ix_audit_tasks_status_id",
        "ix_audit_tasks_unready_date_updated",
        // Webhooks (migration 0006)
        "ix_audit_tasks_webhook_outbox_dead",
        "ix_audit_tasks_webhook_outbox_due",
        "ix_audit_tasks_webhook_outbox_webhook_id",
        "ix_audit_tasks_webhook_task_id",
        "ix_audit_tasks_worker_id",
        "taskledger_lock",
        "taskledger_migrations_audit_tasks_audit_groups",
      ]);
    } finally {
      await backend.close();
    }
  });

  /** Two table sets, one after the other, in one database: each is migrated and used on its own. */
  async function twoTableSets(
    url: string,
    second: { tableNames: { task: string; group: string }; tableSchemas?: { task: string; group: string } },
  ) {
    const celery = await openBackend({ url });
    const other = await openBackend({ url, ...second });
    try {
      await celery.markAsDone("shared-id", "celery tables");
      await other.markAsDone("shared-id", "other tables");
      await other.saveGroup("g", ["shared-id"]);
      assert.equal((await celery.getTaskMeta("shared-id")).result, "celery tables");
      assert.equal((await other.getTaskMeta("shared-id")).result, "other tables");
      assert.deepEqual((await other.restoreGroup("g"))?.results, ["shared-id"]);
      assert.equal(await celery.restoreGroup("g"), null);
      assert.deepEqual((await celery.migrationStatus()).pending, []);
      assert.deepEqual((await other.migrationStatus()).pending, []);
      assert.deepEqual((await other.migrate()).applied, (await celery.migrate()).applied);
    } finally {
      await Promise.all([celery.close(), other.close()]);
    }
  }

  it("on SQLite two table sets live in one database: each set keeps its own migration record", async () => {
    await twoTableSets(`sqlite:${dir.file("two-sets.db")}`, { tableNames });
  });

  it(
    "on PostgreSQL two table sets live in one schema, and a third in another schema, each with its own migration record",
    { skip: await pgSkip() },
    async () => {
      const db = await createTestDatabase("two_sets");
      databases.push(db);
      await twoTableSets(db.url, { tableNames });
      await twoTableSets(db.url, { tableNames: { task: "t3", group: "g3" }, tableSchemas: { task: "results", group: "results" } });
      const records = await queryDatabase<{ name: string }>(
        db.url,
        "SELECT schemaname || '.' || tablename AS name FROM pg_tables WHERE tablename LIKE 'taskledger_migrations%' ORDER BY 1",
      );
      assert.deepEqual(
        records.map((r) => r.name),
        ["public.taskledger_migrations", "public.taskledger_migrations_audit_tasks_audit_groups", "results.taskledger_migrations_t3_g3"],
      );
    },
  );

  it("a table set whose names make a record name longer than 63 characters gets a hashed one", () => {
    const long = resolveTables("postgresql", { task: "t".repeat(40), group: "g".repeat(40) });
    assert.match(long.migrationsName, /^taskledger_migrations_[0-9a-f]{16}$/);
    assert.equal(resolveTables("postgresql", {}).migrationsName, "taskledger_migrations");
  });

  it("on PostgreSQL a schema holds the tables and their sequences; waiting and cleanup work there", { skip: await pgSkip() }, async () => {
    const db = await createTestDatabase("tables");
    databases.push(db);
    const options = { url: db.url, tableNames, tableSchemas: { task: "results", group: "results" } };
    const [a, b] = await Promise.all([openBackend(options), openBackend(options)]);
    try {
      const waiting = new AsyncResult("t1", a).get({ timeout: 30_000, interval: 60_000 });
      await untilWaiting(a, 1, [waiting]);
      await b.markAsDone("t1", "pushed through the schema's channel");
      assert.equal(await waiting, "pushed through the schema's channel");
      await b.saveGroup("g1", ["t1"]);
      const objects = await queryDatabase<{ kind: string; name: string }>(
        db.url,
        `SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' END AS kind, c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'results' AND c.relkind IN ('r', 'S', 'i') AND c.relname NOT LIKE 'taskledger_migrations%' ORDER BY 1, 2`,
      );
      assert.deepEqual(
        objects.map((o) => `${o.kind} ${o.name}`),
        [
          "index audit_groups_pkey",
          "index audit_groups_taskset_id_key",
          "index audit_tasks_history_pkey",
          "index audit_tasks_hold_pkey",
          "index audit_tasks_interest_pkey",
          "index audit_tasks_pkey",
          "index audit_tasks_task_id_key",
          "index audit_tasks_webhook_outbox_pkey",
          "index audit_tasks_webhook_pkey",
          "index ix_audit_groups_date_done",
          "index ix_audit_tasks_date_done",
          // The web view's indexes (migration 0004), renamed with the table
          "index ix_audit_tasks_group_id_id",
          "index ix_audit_tasks_history_task_id",
          "index ix_audit_tasks_name_id",
          "index ix_audit_tasks_queue_id",
          "index ix_audit_tasks_status_id",
          "index ix_audit_tasks_task_id_pattern",
          "index ix_audit_tasks_unready_date_updated",
          "index ix_audit_tasks_webhook_outbox_dead",
          "index ix_audit_tasks_webhook_outbox_due",
          "index ix_audit_tasks_webhook_outbox_webhook_id",
          "index ix_audit_tasks_webhook_task_id",
          "index ix_audit_tasks_worker_id",
          "sequence audit_tasks_history_id_seq",
          "sequence audit_tasks_webhook_id_seq",
          "sequence audit_tasks_webhook_outbox_id_seq",
          "sequence task_id_sequence",
          "sequence taskset_id_sequence",
          "table audit_groups",
          "table audit_tasks",
          "table audit_tasks_history",
          "table audit_tasks_hold",
          "table audit_tasks_interest",
          "table audit_tasks_webhook",
          "table audit_tasks_webhook_outbox",
        ],
      );
      assert.deepEqual(
        (await a.getTaskHistory("t1")).map((e) => e.status),
        ["SUCCESS"],
        "history in the schema (#11)",
      );
      const publicTables = await queryDatabase(db.url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      assert.deepEqual(publicTables, []);
      // Celery inserts with the schema-qualified sequence; the row is ours to read.
      await queryDatabase(
        db.url,
        "INSERT INTO results.audit_tasks (id, task_id, status) VALUES (nextval('results.task_id_sequence'), 'celery-1', 'STARTED')",
      );
      assert.equal((await a.getTaskMeta("celery-1")).status, states.STARTED);
      assert.equal((await a.cleanup({ now: new Date(Date.now() + 10 * 86_400_000) })).tasks, 1);
      assert.deepEqual((await a.migrationStatus()).pending, []);
      // The archive and what guards stores across tiers live in the schema too.
      await a.createArchive();
      await a.markAsDone("old-1", "archived in the schema", { now: new Date(Date.now() - 10 * 86_400_000) });
      assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "30d" })).archived, 1);
      assert.equal(await b.markAsStarted("old-1"), false);
      assert.equal(await new AsyncResult("old-1", b).get({ timeout: 1000 }), "archived in the schema");
      const archived = await queryDatabase<{ name: string }>(
        db.url,
        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'results' AND c.relname LIKE 'audit_tasks_archive_ids%' ORDER BY 1",
      );
      assert.deepEqual(
        archived.map((r) => r.name),
        ["audit_tasks_archive_ids", "audit_tasks_archive_ids_hash"],
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
