/**
 * The application's own connection, on PostgreSQL: a backend over the application's own pg.Pool (or drizzle over it), results
 * recorded inside the application's transaction, and the typed errors for bad connections.
 * PostgreSQL-only because node-postgres clients and LISTEN/NOTIFY are; the SQLite twin is
 * app-connection.sqlite.test.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import {
  AsyncResult,
  DatabaseMismatchError,
  InvalidClientError,
  MissingTablesError,
  NotInTransactionError,
  openBackend,
  runTask,
  states,
  type DatabaseBackend,
} from "../src/index.js";
import { createTestDatabase, pgSkip, type TestDatabase } from "./helpers/pg.js";

const id = () => randomUUID();

describe("taskledger on the application's PostgreSQL pool", { skip: await pgSkip() }, () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let backend: DatabaseBackend;
  /** A second backend, on its own connection, standing for a client process that waits. */
  let waiter: DatabaseBackend;

  before(async () => {
    db = await createTestDatabase("appconn");
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // As an application's pool should: pool.end() resolves before its last client has finished
    // ending, so the DROP DATABASE … WITH (FORCE) after it can meet that client and make it emit
    // "terminating connection" on the pool, an uncaught exception without a listener.
    pool.on("error", () => undefined);
    backend = await openBackend({ client: pool });
    waiter = await openBackend({ url: db.url, migrate: false });
    await pool.query("CREATE TABLE orders (id text PRIMARY KEY, total int NOT NULL)");
  });
  after(async () => {
    await backend?.close();
    await waiter?.close();
    await pool?.end();
    await db?.drop();
  });

  /** Runs `work` on a pooled client inside BEGIN … COMMIT (or ROLLBACK when `rollback`). */
  async function inTransaction(work: (client: pg.PoolClient) => Promise<void>, rollback = false): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await work(client);
      await client.query(rollback ? "ROLLBACK" : "COMMIT");
    } finally {
      client.release();
    }
  }

  /** Resolves with the next NOTIFY payload on the task table's channel after `action`. */
  /**
   * LISTENs on taskledger's channel and registers interest in `ids`, as a waiter would: the notify
   * trigger notifies only for ids someone waits for.
   */
  async function listen(...ids: string[]): Promise<{ next(): Promise<string[]>; close(): Promise<void> }> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    for (const task of ids) await client.query("INSERT INTO celery_taskmeta_interest (task_id, listener) VALUES ($1, 'test')", [task]);
    const queue: string[][] = [];
    let wake: (() => void) | undefined;
    client.on("notification", (message) => {
      queue.push(JSON.parse(message.payload ?? "[]"));
      wake?.();
    });
    await client.query('LISTEN "taskledger_celery_taskmeta"');
    return {
      next: async () => {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        return queue.shift()!;
      },
      close: () => client.end(),
    };
  }

  it("migrates through the pool, stores and reads through it, and leaves the pool open at close", async () => {
    const tags = (await pool.query("SELECT tag FROM taskledger_migrations")).rows;
    assert.ok(tags.length > 0, "migrations were recorded through the application's pool");
    const own = await openBackend({ client: pool });
    const task = id();
    await own.markAsDone(task, { ok: 1 });
    assert.deepEqual((await own.getTaskMeta(task)).result, { ok: 1 });
    await own.close();
    assert.equal(pool.ended, false);
    assert.equal((await pool.query("SELECT 1 AS one")).rows[0].one, 1);
  });

  it("accepts a drizzle database over the pool, and a waiter on it is woken by LISTEN", async () => {
    const viaDrizzle = await openBackend({ client: drizzle(pool) });
    try {
      const task = id();
      // Resolves once LISTEN is in place on the connection opened from the pool's settings.
      const subscription = await viaDrizzle.subscribe([task]);
      await waiter.markAsDone(task, "pushed");
      assert.equal(await subscription.wait(10_000), true, "woken by NOTIFY, not by the timeout");
      subscription.close();
      assert.equal(await new AsyncResult(task, viaDrizzle).get({ timeout: 10_000 }), "pushed");
    } finally {
      await viaDrizzle.close();
    }
  });

  it("a result recorded in a rolled-back transaction leaves no row and sends no notification", async () => {
    const task = id();
    const later = id();
    const listener = await listen(task, later);
    try {
      await inTransaction(async (client) => {
        await client.query("INSERT INTO orders VALUES ($1, 10)", [task]);
        assert.equal(await backend.inTransaction(client).markAsDone(task, { total: 10 }), true);
      }, true);
      assert.equal(await backend.exists(task), false);
      assert.equal((await pool.query("SELECT 1 FROM orders WHERE id = $1", [task])).rowCount, 0);
      // Notifications arrive in commit order: the next one is the later, committed store's.
      await backend.markAsDone(later, 1);
      assert.deepEqual(await listener.next(), [later]);
    } finally {
      await listener.close();
    }
  });

  it("a result committed with the business row is invisible until commit, then wakes a waiter", async () => {
    const task = id();
    // Subscribed (LISTEN in place) before the transaction, as a waiting get() is.
    const subscription = await waiter.subscribe([task]);
    await inTransaction(async (client) => {
      await client.query("INSERT INTO orders VALUES ($1, 42)", [task]);
      await backend.inTransaction(client).markAsDone(task, { total: 42 });
      assert.equal(await waiter.exists(task), false, "not visible before commit");
    });
    assert.equal(await subscription.wait(10_000), true, "woken by the commit's NOTIFY, not by the timeout");
    subscription.close();
    assert.deepEqual(await new AsyncResult(task, waiter).get({ timeout: 10_000 }), { total: 42 });
    const joined = await pool.query("SELECT o.total, t.status FROM orders o JOIN celery_taskmeta t ON t.task_id = o.id WHERE o.id = $1", [
      task,
    ]);
    assert.deepEqual(joined.rows, [{ total: 42, status: "SUCCESS" }]);
  });

  it("records started, failure, batches and groups inside a drizzle transaction, all or nothing", async () => {
    const app = drizzle(pool);
    const [a, b, c, group] = [id(), id(), id(), id()];
    await app.transaction(async (tx) => {
      const writer = backend.inTransaction(tx);
      await writer.markAsStarted(a);
      await writer.markAsFailure(b, new RangeError("too big"));
      await writer.storeMany([
        { taskId: a, status: states.SUCCESS, result: 1 },
        { taskId: c, status: states.SUCCESS, result: 3 },
      ]);
      await writer.saveGroup(group, [a, b, c]);
    });
    const metas = await backend.getManyTaskMeta([a, b, c]);
    assert.deepEqual(
      [...metas.values()].map((m) => (m as { status: string }).status),
      ["SUCCESS", "FAILURE", "SUCCESS"],
    );
    assert.deepEqual((await backend.restoreGroup(group))?.results, [a, b, c]);

    const [d, group2] = [id(), id()];
    await assert.rejects(
      app.transaction(async (tx) => {
        const writer = backend.inTransaction(tx);
        await writer.storeMany([{ taskId: d, status: states.SUCCESS, result: 4 }]);
        await writer.saveGroup(group2, [d]);
        throw new Error("business rule failed");
      }),
      /business rule failed/,
    );
    assert.equal(await backend.exists(d), false);
    assert.equal(await backend.restoreGroup(group2), null);
  });

  it("runTask with transactionOn commits the business row with SUCCESS, and a failed attempt leaves only its failure", async () => {
    const app = drizzle(pool);
    const [ok, bad] = [id(), id()];
    const done = await runTask(
      backend,
      { id: ok },
      async (ctx) => {
        await ctx.tx.execute(sql`INSERT INTO orders VALUES (${ok}, 5)`);
        return "invoiced";
      },
      { transactionOn: app },
    );
    assert.equal(done.status, "SUCCESS");
    assert.equal((await pool.query("SELECT 1 FROM orders WHERE id = $1", [ok])).rowCount, 1);
    assert.equal((await backend.getTaskMeta(ok)).result, "invoiced");
    const failed = await runTask(
      backend,
      { id: bad },
      async (ctx) => {
        await ctx.tx.execute(sql`INSERT INTO orders VALUES (${bad}, 5)`);
        throw new RangeError("card declined");
      },
      { transactionOn: app },
    );
    assert.equal(failed.status, "FAILURE");
    assert.equal(
      (await pool.query("SELECT 1 FROM orders WHERE id = $1", [bad])).rowCount,
      0,
      "the failed attempt's business row rolled back",
    );
    assert.equal((await backend.getTaskMeta(bad)).status, "FAILURE");
  });

  it("keeps the precedence guard inside the caller's transaction", async () => {
    const task = id();
    await backend.markAsDone(task, "first");
    await inTransaction(async (client) => {
      assert.equal(await backend.inTransaction(client).markAsStarted(task), false);
    });
    assert.equal((await backend.getTaskMeta(task)).status, "SUCCESS");
  });

  it("refuses a client outside a transaction, and a writer kept past COMMIT, writing nothing", async () => {
    const task = id();
    const client = await pool.connect();
    try {
      assert.throws(() => backend.inTransaction(client), NotInTransactionError);
      await client.query("BEGIN");
      const writer = backend.inTransaction(client);
      await client.query("COMMIT");
      await assert.rejects(writer.markAsDone(task, 1), NotInTransactionError);
    } finally {
      client.release();
    }
    assert.throws(() => backend.inTransaction(pool), NotInTransactionError);
    assert.equal(await backend.exists(task), false);
  });

  it("refuses an ended pool and a single pg.Client with InvalidClientError", async () => {
    const ended = new pg.Pool({ connectionString: db.url });
    await ended.end();
    await assert.rejects(openBackend({ client: ended }), (e: unknown) => e instanceof InvalidClientError && /ended/.test(e.message));
    const single = new pg.Client({ connectionString: db.url });
    await assert.rejects(openBackend({ client: single }), (e: unknown) => e instanceof InvalidClientError && /pg\.Pool/.test(e.message));
  });

  it("says the tables are missing at open", async () => {
    const empty = await createTestDatabase("appconn_empty");
    const emptyPool = new pg.Pool({ connectionString: empty.url });
    emptyPool.on("error", () => undefined); // see before(): the drop may meet a client still ending
    try {
      await assert.rejects(openBackend({ client: emptyPool, migrate: false }), MissingTablesError);
      // The application's pool still works after that.
      assert.equal((await emptyPool.query("SELECT 1 AS one")).rows[0].one, 1);
    } finally {
      await emptyPool.end();
      await empty.drop();
    }
  });

  it("refuses a transaction on another database, naming both, with nothing written there", async () => {
    // The other database has taskledger's tables too: without the check the result lands there
    // and the backend reads PENDING.
    const elsewhere = await createTestDatabase("appconn_elsewhere");
    const elsewherePool = new pg.Pool({ connectionString: elsewhere.url });
    elsewherePool.on("error", () => undefined); // see before()
    try {
      await (await openBackend({ client: elsewherePool })).close();
      await elsewherePool.query("CREATE TABLE orders (id text PRIMARY KEY)");
      const task = id();
      const client = await elsewherePool.connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO orders VALUES ($1)", [task]);
        await assert.rejects(
          backend.inTransaction(client).markAsDone(task, 1),
          (e: unknown) =>
            e instanceof DatabaseMismatchError &&
            e instanceof InvalidClientError &&
            e.message.includes(`database "${elsewhere.name}"`) &&
            e.message.includes(`database "${db.name}"`) &&
            !/postgres@|password/.test(e.message),
        );
        await client.query("ROLLBACK");
      } finally {
        client.release();
      }
      assert.equal((await elsewherePool.query("SELECT count(*)::int AS n FROM celery_taskmeta")).rows[0].n, 0);
      assert.equal((await elsewherePool.query("SELECT count(*)::int AS n FROM orders")).rows[0].n, 0);
      assert.equal((await backend.getTaskMeta(task)).status, "PENDING");
    } finally {
      await elsewherePool.end();
      await elsewhere.drop();
    }
  });

  it("accepts a client connected to the backend's database another way, and checks each client once", async () => {
    // Another host spelling of the same server and database (and another pg.Client object).
    const url = new URL(db.url);
    url.hostname = url.hostname === "127.0.0.1" ? "localhost" : url.hostname;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    const texts: string[] = [];
    const query = client.query.bind(client) as (config: unknown) => Promise<unknown>;
    (client as unknown as { query: typeof query }).query = (config: unknown) => {
      texts.push(typeof config === "string" ? config : String((config as { text: string }).text));
      return query(config);
    };
    try {
      const tasks = [id(), id(), id()];
      for (const task of tasks) {
        await client.query("BEGIN");
        await backend.inTransaction(client).markAsDone(task, "same database");
        await client.query("COMMIT");
      }
      for (const task of tasks) assert.equal((await backend.getTaskMeta(task)).result, "same database");
      assert.equal(texts.filter((text) => text.includes("current_database()")).length, 1, "one check per client, not per write");
    } finally {
      await client.end();
    }
  });

  // Last in this file: it creates the archive, which changes the statements every later store runs.
  it("writes inside the application's transaction keep precedence across tiers once the archive exists", async () => {
    await backend.createArchive();
    const task = randomUUID();
    await backend.markAsDone(task, "first", { now: new Date(Date.now() - 10 * 86_400_000) });
    assert.equal((await backend.cleanup({ archiveAfter: "7d", expires: null })).archived, 1);
    await inTransaction(async (client) => {
      assert.equal(await backend.inTransaction(client).markAsStarted(task), false, "a late STARTED is refused inside the transaction too");
    });
    await inTransaction(async (client) => {
      assert.equal(await backend.inTransaction(client).markAsDone(task, "second"), true);
    }, true);
    assert.equal((await backend.getTaskMeta(task)).result, "first", "rolled back: the archived row is still the task");
    await inTransaction(async (client) => {
      assert.equal(await backend.inTransaction(client).markAsDone(task, "second"), true);
    });
    assert.equal((await backend.getTaskMeta(task)).result, "second");
    assert.equal(await backend.audit.count({ idPrefix: task }), 1);
  });
});
