/**
 * What only a Citus cluster shows (TASKLEDGER_TEST_CITUS_URL): `migrate --distribute` on a bare
 * database and its idempotence, its refusals (no Citus, a worker), writes refused on a worker,
 * history for another writer's statements, and waking: taskledger's own commits by its NOTIFY on
 * the coordinator, another writer's by the waiter's re-read; webhooks left out (refused, with the
 * tables kept local on the coordinator), and replicaStatus on a coordinator.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import { AsyncResult, DistributeError, openBackend, states, type DatabaseBackend } from "../../src/index.js";
import { citusSkip, citusVersion, createCitusDatabase, workerUrl } from "../helpers/citus.js";
import { cli } from "../helpers/cli.js";
import { createTestDatabase, pgUnavailable, queryDatabase, type TestDatabase } from "../helpers/pg.js";

const skip = await citusSkip();

describe("Citus through the coordinator", { skip }, () => {
  const databases: TestDatabase[] = [];
  const opened: DatabaseBackend[] = [];
  const open = async (url: string, options: Parameters<typeof openBackend>[0] & object = {}) => {
    const b = await openBackend({ url, ...options });
    opened.push(b);
    return b;
  };
  const bare = async (label: string) => {
    const db = await createCitusDatabase(label, { bare: true });
    databases.push(db);
    return db;
  };
  const distributed = async (label: string) => {
    const db = await createCitusDatabase(label);
    databases.push(db);
    return db;
  };
  after(async () => {
    await Promise.all(opened.map((b) => b.close()));
    await Promise.all(databases.map((db) => db.drop()));
  });

  /** Everything --distribute decides: distribution, co-location, keys, triggers. */
  const layout = (url: string) =>
    queryDatabase(
      url,
      `SELECT (SELECT json_agg(json_build_array(table_name::text, distribution_column, colocation_id, shard_count) ORDER BY table_name::text) FROM citus_tables) AS tables,
        (SELECT json_agg(json_build_array(conrelid::regclass::text, pg_get_constraintdef(oid)) ORDER BY conrelid::regclass::text, conname)
           FROM pg_constraint WHERE contype IN ('p', 'u') AND conrelid::regclass::text LIKE 'celery_%') AS keys,
        (SELECT json_agg(json_build_array(tgname, tgfoid::regproc::text) ORDER BY tgname)
           FROM pg_trigger WHERE tgrelid = 'celery_taskmeta'::regclass AND NOT tgisinternal) AS triggers`,
    );

  it("migrate --distribute distributes every table by task id, co-located; a second run and a plain migrate change nothing", async () => {
    const db = await bare("dist_cli");
    const first = await cli(["--url", db.url, "migrate", "--distribute"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /distributed 5 tables by task id, co-located \(Citus \d+\.\d+/);
    const [shape] = await layout(db.url);
    const tables = shape!["tables"] as [string, string, number, number][];
    const names = tables.map((t) => t[0]);
    for (const table of [
      "celery_taskmeta",
      "celery_tasksetmeta",
      "celery_taskmeta_history",
      "celery_taskmeta_interest",
      "celery_taskmeta_hold",
    ])
      assert.ok(names.includes(table), `${table} is distributed`);
    assert.equal(new Set(tables.map((t) => t[2])).size, 1, "one co-location group");
    assert.deepEqual(
      tables.filter((t) => t[0] !== "celery_tasksetmeta").map((t) => t[1]),
      tables.filter((t) => t[0] !== "celery_tasksetmeta").map(() => "task_id"),
    );
    const keys = shape!["keys"] as [string, string][];
    assert.ok(keys.some(([t, def]) => t === "celery_taskmeta" && def === "PRIMARY KEY (id, task_id)"));
    assert.ok(keys.some(([t, def]) => t === "celery_tasksetmeta" && def === "PRIMARY KEY (id, taskset_id)"));
    assert.deepEqual(shape!["triggers"], [
      ["celery_taskmeta_tl_history_delete", "celery_taskmeta_citus_history_on_delete"],
      ["celery_taskmeta_tl_history_insert", "celery_taskmeta_citus_history_on_insert"],
      ["celery_taskmeta_tl_history_update", "celery_taskmeta_citus_history_on_update"],
    ]);

    const second = await cli(["--url", db.url, "--json", "migrate", "--distribute"]);
    assert.equal(second.code, 0, second.stderr);
    const report = JSON.parse(second.stdout);
    assert.deepEqual(report.appliedNow, []);
    assert.deepEqual(report.distributed.distributed, []);
    assert.deepEqual(report.distributed.ran, []);
    assert.equal(report.distributed.citusVersion, await citusVersion());
    const plain = await cli(["--url", db.url, "migrate"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /already up to date/);
    assert.deepEqual(await layout(db.url), [shape]);
  });

  it("migrate --archive --distribute distributes the archive too, partitions included; --archive after distribution joins it", async () => {
    const db = await bare("dist_archive");
    const both = await cli(["--url", db.url, "migrate", "--archive", "--distribute"]);
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stderr, /distributed 8 tables by task id, co-located/);
    const archived = async (url: string) => {
      const [shape] = await layout(url);
      const tables = shape!["tables"] as [string, string, number, number][];
      const names = tables.map((t) => t[0]);
      for (const table of ["celery_taskmeta_archive", "celery_taskmeta_history_archive", "celery_taskmeta_archive_ids"])
        assert.ok(names.includes(table), `${table} is distributed`);
      assert.ok(
        names.some((n) => /^celery_taskmeta_archive_p\d{6}$/.test(n)),
        "the archive's monthly partitions are distributed with it",
      );
      assert.equal(new Set(tables.map((t) => t[2])).size, 1, "one co-location group");
    };
    await archived(db.url);
    const again = await cli(["--url", db.url, "--json", "migrate", "--archive", "--distribute"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).distributed.ran, []);
    const other = await distributed("dist_archive_after");
    const after = await cli(["--url", other.url, "migrate", "--archive"]);
    assert.equal(after.code, 0, after.stderr);
    await archived(other.url);
  });

  it("the library's distribute option does the same, and --no-history before it leaves only the delete trigger", async () => {
    const db = await bare("dist_lib");
    await (await openBackend({ url: db.url, history: false })).close();
    const b = await open(db.url, { distribute: true });
    assert.equal(await b.historyEnabled(), false);
    const [shape] = await layout(db.url);
    assert.deepEqual(shape!["triggers"], [["celery_taskmeta_tl_history_delete", "celery_taskmeta_citus_history_on_delete"]]);
    const task = randomUUID();
    await b.markAsStarted(task);
    await b.markAsDone(task, 1);
    assert.deepEqual(await b.getTaskHistory(task), []);
    // Switched on again after distribution: the Citus form, and writes keep working.
    assert.equal(await b.setHistory(true), true);
    const later = randomUUID();
    await b.markAsStarted(later);
    await b.markAsDone(later, 2);
    assert.deepEqual(
      (await b.getTaskHistory(later)).map((e) => e.status),
      [states.STARTED, states.SUCCESS],
    );
    assert.equal((await b.getTaskMeta(later)).result, 2);
  });

  it("--distribute is refused, with what to do, on a server without Citus and on a Citus worker", async (t) => {
    const bareDb = await bare("dist_worker");
    const onWorker = await cli(["--url", await workerUrl(bareDb.name), "migrate", "--distribute"]);
    assert.equal(onWorker.code, 1);
    assert.match(onWorker.stderr, /is a Citus worker, not the coordinator: .*Point the URL at the coordinator/);
    const plainOnWorker = await cli(["--url", await workerUrl(bareDb.name), "migrate"]);
    assert.equal(plainOnWorker.code, 1);
    assert.match(plainOnWorker.stderr, /is a Citus worker, not the coordinator/);
    if (await pgUnavailable()) return t.skip("no plain PostgreSQL server (TASKLEDGER_TEST_PG_URL) to refuse");
    const plainDb = await createTestDatabase("dist_plain");
    databases.push(plainDb);
    const plain = await cli(["--url", plainDb.url, "migrate", "--distribute"]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /has no Citus extension\. Install Citus on every node, CREATE EXTENSION citus/);
    await assert.rejects(openBackend({ url: plainDb.url, distribute: true }), DistributeError);
  });

  it("webhooks are left out: --distribute refuses while one is registered, registering one after it is refused, the tables stay local", async () => {
    const db = await bare("dist_webhooks");
    const plain = await open(db.url);
    const hook = await plain.addWebhook({ url: "http://127.0.0.1:9/hook" });
    const refused = await cli(["--url", db.url, "migrate", "--distribute"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /has 1 webhook registered, and webhooks are not delivered on a distributed Citus cluster .*webhooks remove/,
    );
    assert.deepEqual((await layout(db.url))[0]!["tables"], null, "nothing distributed");
    assert.equal(await plain.removeWebhooks([hook.id]), 1);
    const done = await cli(["--url", db.url, "migrate", "--distribute"]);
    assert.equal(done.code, 0, done.stderr);
    const b = await open(db.url);
    await assert.rejects(b.addWebhook({ url: "http://127.0.0.1:9/hook" }), (error: unknown) => {
      assert.ok(error instanceof DistributeError);
      assert.match((error as Error).message, /distributed by Citus .*webhooks are not delivered/);
      return true;
    });
    const local = await queryDatabase(
      db.url,
      "SELECT count(*)::int AS n FROM pg_dist_partition WHERE logicalrelid::text IN ('celery_taskmeta_webhook', 'celery_taskmeta_webhook_outbox')",
    );
    assert.equal(local[0]!["n"], 0);
    // A ready store writes no outbox row: the outbox triggers are gone with the others.
    await b.markAsDone(randomUUID(), 1);
    assert.equal(Number((await queryDatabase(db.url, "SELECT count(*) AS n FROM celery_taskmeta_webhook_outbox"))[0]!["n"]), 0);
    assert.deepEqual(await b.listWebhooks(), []);
  });

  it("replicaStatus on the coordinator is undefined: it is no streaming replica", async () => {
    const db = await distributed("dist_replica");
    const b = await open(db.url);
    assert.equal(await b.audit.replica(), undefined);
  });

  it("stores sent to a worker are refused with DistributeError naming the coordinator; reads there work", async () => {
    const db = await distributed("dist_worker_write");
    const coordinator = await open(db.url);
    await coordinator.markAsDone("on-coordinator", 1);
    const worker = await open(await workerUrl(db.name), { migrate: false });
    await assert.rejects(worker.markAsDone(randomUUID(), 1), (error: unknown) => {
      assert.ok(error instanceof DistributeError);
      assert.match((error as Error).message, /Citus worker, not the coordinator: .*Point the URL at the coordinator/);
      return true;
    });
    assert.equal((await worker.getTaskMeta("on-coordinator")).result, 1);
  });

  it("another writer's statements through the coordinator get their history too (the Citus triggers run on the shards)", async () => {
    const db = await distributed("dist_celery_history");
    const b = await open(db.url);
    const task = randomUUID();
    // As Python Celery writes: an INSERT drawing the id, then an UPDATE by task_id.
    await queryDatabase(
      db.url,
      "INSERT INTO celery_taskmeta (id, task_id, status, date_done) VALUES (nextval('task_id_sequence'), $1, 'STARTED', NULL)",
      [task],
    );
    await queryDatabase(db.url, "UPDATE celery_taskmeta SET status = 'SUCCESS', date_done = now() WHERE task_id = $1", [task]);
    assert.deepEqual(
      (await b.getTaskHistory(task)).map((e) => e.status),
      [states.STARTED, states.SUCCESS],
    );
    // And a delete by another writer takes the history along.
    await queryDatabase(db.url, "DELETE FROM celery_taskmeta WHERE task_id = $1", [task]);
    assert.equal(
      Number((await queryDatabase(db.url, "SELECT count(*) AS n FROM celery_taskmeta_history WHERE task_id = $1", [task]))[0]!["n"]),
      0,
    );
  });

  it("a taskledger commit wakes a waiter through the coordinator's NOTIFY; another writer's is seen at the re-read", async () => {
    const db = await distributed("dist_wake");
    const writer = await open(db.url);
    const waiterBackend = await open(db.url);
    const wakeups: number[] = [];
    for (let i = 0; i < 5; i++) {
      const task = randomUUID();
      const waiting = new AsyncResult(task, waiterBackend).get({ timeout: 20_000, interval: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 300)); // registered and listening
      const committed = Date.now();
      await writer.markAsDone(task, i);
      assert.equal(await waiting, i);
      wakeups.push(Date.now() - committed);
    }
    wakeups.sort((a, b) => a - b);
    assert.ok(wakeups[2]! < 1_000, `woken by NOTIFY, not by the 20 s re-read: ${wakeups.join(", ")} ms`);
    // Another writer (psql, Celery): no NOTIFY reaches the coordinator's LISTEN, so the re-read finds it.
    const task = randomUUID();
    const started = Date.now();
    const waiting = new AsyncResult(task, waiterBackend).get({ timeout: 20_000, interval: 500 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queryDatabase(
      db.url,
      "INSERT INTO celery_taskmeta (id, task_id, status, date_done) VALUES (nextval('task_id_sequence'), $1, 'SUCCESS', now())",
      [task],
    );
    await waiting.catch(() => undefined);
    assert.ok(Date.now() - started < 5_000, "seen within a few re-read intervals");
  });
});
