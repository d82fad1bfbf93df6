/**
 * The application's own connection, on SQLite: a backend over the application's own better-sqlite3 Database (or drizzle over
 * it), results recorded inside the application's transaction, other writers kept out of that
 * transaction, and the typed errors for bad connections. The PostgreSQL twin is
 * app-connection.pg.test.ts.
 */
import assert from "node:assert/strict";
import { symlinkSync, unlinkSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { untilWaiting } from "./helpers/waiting.js";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import {
  AsyncResult,
  DatabaseMismatchError,
  InvalidClientError,
  MissingTablesError,
  NotInTransactionError,
  openBackend,
  runTask,
  states,
  SynchronousTransactionError,
  type DatabaseBackend,
} from "../src/index.js";
import { pushOnly } from "./helpers/push-only.js";
import { tempDir } from "./helpers/sqlite.js";

const id = () => randomUUID();
describe("taskledger on the application's SQLite connection", () => {
  const dir = tempDir("appconn");
  const file = dir.file("app.db");
  let db: Database.Database;
  let backend: DatabaseBackend;
  /** A second backend on its own connection to the same file: another process, in effect. */
  let other: DatabaseBackend;

  before(async () => {
    db = new Database(file);
    db.pragma("journal_mode = WAL");
    backend = await openBackend({ client: db });
    other = await openBackend({ url: `sqlite:${file}`, migrate: false, busyTimeoutMs: 10 });
    db.exec("CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)");
  });
  after(async () => {
    await backend?.close();
    await other?.close();
    db?.close();
    dir.remove();
  });

  const orderCount = (orderId: string) => db.prepare("SELECT count(*) FROM orders WHERE id = ?").pluck().get(orderId) as number;

  it("migrates through the Database, stores through it, and leaves it open at close", async () => {
    const tags = db.prepare("SELECT tag FROM taskledger_migrations").all();
    assert.ok(tags.length > 0);
    const own = await openBackend({ client: drizzle(db) });
    const task = id();
    await own.markAsDone(task, { ok: 1 });
    await own.close();
    assert.equal(db.open, true);
    assert.deepEqual((await backend.getTaskMeta(task)).result, { ok: 1 });
  });

  it("a result recorded in a rolled-back synchronous transaction leaves nothing", () => {
    const task = id();
    const writeOrder = db.transaction(() => {
      db.prepare("INSERT INTO orders VALUES (?, 10)").run(task);
      void backend.inTransaction(db).markAsDone(task, { total: 10 });
      throw new Error("business rule failed");
    });
    assert.throws(() => writeOrder(), /business rule failed/);
    assert.equal(orderCount(task), 0);
    assert.equal(db.prepare("SELECT count(*) FROM celery_taskmeta WHERE task_id = ?").pluck().get(task), 0);
  });

  it("a result committed in a drizzle transaction wakes waiters here and in another connection", async () => {
    const task = id();
    const [hereWait, thereWait] = [pushOnly(), pushOnly()];
    const here = new AsyncResult(task, backend).get(hereWait.options);
    const there = new AsyncResult(task, other).get(thereWait.options);
    // Both waiters have subscribed and read PENDING before the transaction runs.
    await untilWaiting(backend, 1, [here]);
    await untilWaiting(other, 1, [there]);
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    drizzle(db).transaction((tx) => {
      tx.run(sql`INSERT INTO orders VALUES (${task}, 42)`);
      void backend.inTransaction(tx).markAsDone(task, { total: 42 });
    });
    assert.deepEqual(await here, { total: 42 });
    assert.deepEqual(await there, { total: 42 });
    assert.deepEqual([hereWait.counter.unwoken, thereWait.counter.unwoken], [0, 0], "both waiters were woken, not timed out");
    const joined = db.prepare("SELECT o.total, t.status FROM orders o JOIN celery_taskmeta t ON t.task_id = o.id WHERE o.id = ?").get(task);
    assert.deepEqual(joined, { total: 42, status: "SUCCESS" });
  });

  it("records started, failure, batches and groups in one transaction, all or nothing", async () => {
    const [a, b, c, group] = [id(), id(), id(), id()];
    db.transaction(() => {
      const writer = backend.inTransaction(db);
      void writer.markAsStarted(a);
      void writer.markAsFailure(b, new RangeError("too big"));
      void writer.storeMany([
        { taskId: a, status: states.SUCCESS, result: 1 },
        { taskId: c, status: states.SUCCESS, result: 3 },
      ]);
      void writer.saveGroup(group, [a, b, c]);
    })();
    const metas = await backend.getManyTaskMeta([a, b, c]);
    assert.deepEqual(
      [...metas.values()].map((m) => (m as { status: string }).status),
      ["SUCCESS", "FAILURE", "SUCCESS"],
    );
    assert.deepEqual((await backend.restoreGroup(group))?.results, [a, b, c]);

    const [d, group2] = [id(), id()];
    assert.throws(
      () =>
        db.transaction(() => {
          const writer = backend.inTransaction(db);
          void writer.storeMany([{ taskId: d, status: states.SUCCESS, result: 4 }]);
          void writer.saveGroup(group2, [d]);
          throw new Error("no");
        })(),
      /no/,
    );
    assert.equal(await backend.exists(d), false);
    assert.equal(await backend.restoreGroup(group2), null);
  });

  it("a hold and a release on the shared connection wait for the caller's open transaction and never join it", async () => {
    const task = id();
    db.exec("BEGIN IMMEDIATE");
    const holding = backend.hold([task], { reason: "kept whatever the caller does" });
    let settled = false;
    void holding.then(() => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "the hold did not run inside the caller's transaction");
    db.exec("ROLLBACK");
    assert.equal(await holding, 1);
    assert.deepEqual(
      (await backend.holds([task])).map((h) => h.taskId),
      [task],
      "the caller's rollback did not take the hold with it",
    );
    db.exec("BEGIN IMMEDIATE");
    const releasing = backend.release([task]);
    db.exec("ROLLBACK");
    assert.equal(await releasing, 1);
    assert.deepEqual(await backend.holds([task]), []);
  });

  it("other callers' writes on the shared connection wait for the caller's open transaction and never join it", async () => {
    const [mine, theirs, elsewhere] = [id(), id(), id()];
    // The caller holds a transaction open across awaits (BEGIN … await … ROLLBACK).
    db.exec("BEGIN IMMEDIATE");
    db.prepare("INSERT INTO orders VALUES (?, 1)").run(mine);
    await backend.inTransaction(db).markAsDone(mine, "mine");
    // Meanwhile another caller stores through the same backend (same connection), and another
    // connection to the file stores too.
    const sameConnection = backend.markAsDone(theirs, "theirs");
    const otherConnection = other.markAsDone(elsewhere, "elsewhere");
    let settled = false;
    void Promise.all([sameConnection, otherConnection]).then(() => (settled = true));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "neither store ran inside the caller's transaction");
    db.exec("ROLLBACK");
    assert.equal(await sameConnection, true);
    assert.equal(await otherConnection, true);
    assert.equal(await backend.exists(mine), false, "the caller's write rolled back");
    assert.equal(orderCount(mine), 0);
    assert.equal(await backend.exists(theirs), true, "the other caller's write survived the rollback");
    assert.equal(await backend.exists(elsewhere), true);
  });

  it("runTask with transactionOn commits the business row with SUCCESS, and a failed attempt leaves only its failure", async () => {
    // An async BEGIN … COMMIT on the shared connection: taskledger's other statements wait for it.
    const transactionOn = {
      async transaction<R>(body: (tx: Database.Database) => Promise<R>): Promise<R> {
        db.exec("BEGIN IMMEDIATE");
        try {
          const result = await body(db);
          db.exec("COMMIT");
          return result;
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      },
    };
    const [ok, bad] = [id(), id()];
    const done = await runTask(
      backend,
      { id: ok },
      async (ctx) => {
        ctx.tx.prepare("INSERT INTO orders VALUES (?, 5)").run(ok);
        return "invoiced";
      },
      { transactionOn },
    );
    assert.equal(done.status, "SUCCESS");
    assert.equal(orderCount(ok), 1);
    assert.equal((await backend.getTaskMeta(ok)).result, "invoiced");
    const failed = await runTask(
      backend,
      { id: bad },
      async (ctx) => {
        ctx.tx.prepare("INSERT INTO orders VALUES (?, 5)").run(bad);
        throw new RangeError("card declined");
      },
      { transactionOn },
    );
    assert.equal(failed.status, "FAILURE");
    assert.equal(orderCount(bad), 0, "the failed attempt's business row rolled back");
    assert.equal((await backend.getTaskMeta(bad)).status, "FAILURE");
  });

  it("runTask over drizzle(better-sqlite3) runs a synchronous task inside the transaction and refuses an async one, recording no false FAILURE", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const app = drizzle(db);
      const [ok, failed, asyncTask, promising] = [id(), id(), id(), id()];
      // Synchronous, as better-sqlite3's transactions are: the order and SUCCESS commit together.
      const done = await runTask(
        backend,
        { id: ok },
        (ctx) => {
          ctx.tx.run(sql`INSERT INTO orders VALUES (${ok}, 7)`);
          return "invoiced";
        },
        { transactionOn: app },
      );
      assert.equal(done.status, "SUCCESS");
      assert.equal(orderCount(ok), 1);
      assert.equal((await backend.getTaskMeta(ok)).result, "invoiced");
      // A synchronous failure rolls the order back and is recorded, outside the transaction.
      const failure = await runTask(
        backend,
        { id: failed },
        (ctx) => {
          ctx.tx.run(sql`INSERT INTO orders VALUES (${failed}, 7)`);
          throw new RangeError("card declined");
        },
        { transactionOn: app },
      );
      assert.equal(failure.status, "FAILURE");
      assert.equal(orderCount(failed), 0);
      assert.equal((await backend.getTaskMeta(failed)).status, "FAILURE");
      // An async function cannot run inside a synchronous transaction: refused before it runs.
      let ran = false;
      await assert.rejects(
        runTask(
          backend,
          { id: asyncTask },
          async (ctx) => {
            ran = true;
            ctx.tx.run(sql`INSERT INTO orders VALUES (${asyncTask}, 7)`);
            return "done";
          },
          { transactionOn: app },
        ),
        (e: unknown) => e instanceof SynchronousTransactionError && e.taskId === asyncTask,
      );
      assert.equal(ran, false);
      // A plain function that returns a promise is found out when it returns: rolled back, and
      // its promise's later rejection is not left floating.
      await assert.rejects(
        runTask(
          backend,
          { id: promising },
          (ctx) => {
            ctx.tx.run(sql`INSERT INTO orders VALUES (${promising}, 7)`);
            return Promise.reject(new Error("settled after the transaction"));
          },
          { transactionOn: app },
        ),
        SynchronousTransactionError,
      );
      assert.equal(orderCount(promising), 0);
      for (const task of [asyncTask, promising]) assert.equal((await backend.getTaskMeta(task)).status, "PENDING", "no false FAILURE");
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("refuses a Database outside a transaction, and a writer kept past commit, at once", async () => {
    const task = id();
    assert.throws(() => backend.inTransaction(db), NotInTransactionError);
    let writer: ReturnType<DatabaseBackend["inTransaction"]> | undefined;
    db.transaction(() => {
      writer = backend.inTransaction(db);
    })();
    assert.throws(() => writer!.markAsDone(task, 1), NotInTransactionError);
    assert.equal(await backend.exists(task), false);
  });

  it("refuses a closed Database with InvalidClientError", async () => {
    const closed = new Database(":memory:");
    closed.close();
    await assert.rejects(openBackend({ client: closed }), (e: unknown) => e instanceof InvalidClientError && /closed/.test(e.message));
  });

  it("says the tables are missing at open", async () => {
    const empty = new Database(dir.file("empty.db"));
    try {
      await assert.rejects(openBackend({ client: empty, migrate: false }), MissingTablesError);
    } finally {
      empty.close();
    }
  });

  it("refuses a transaction on another database file, naming both, with nothing written there", async () => {
    // The other file has taskledger's tables too: without the check the result lands there and
    // the backend reads PENDING.
    const elsewhereFile = dir.file("elsewhere.db");
    const elsewhere = new Database(elsewhereFile);
    try {
      await (await openBackend({ client: elsewhere })).close();
      elsewhere.exec("CREATE TABLE orders (id TEXT PRIMARY KEY)");
      const task = id();
      assert.throws(
        () =>
          elsewhere.transaction(() => {
            elsewhere.prepare("INSERT INTO orders VALUES (?)").run(task);
            void backend.inTransaction(elsewhere).markAsDone(task, 1);
          })(),
        (e: unknown) =>
          e instanceof DatabaseMismatchError &&
          e instanceof InvalidClientError &&
          e.message.includes("elsewhere.db") &&
          e.message.includes("app.db"),
      );
      assert.equal(elsewhere.prepare("SELECT count(*) FROM orders").pluck().get(), 0);
      assert.equal(elsewhere.prepare("SELECT count(*) FROM celery_taskmeta").pluck().get(), 0);
      const memory = new Database(":memory:");
      try {
        assert.throws(() => memory.transaction(() => backend.inTransaction(memory))(), /in-memory/);
      } finally {
        memory.close();
      }
    } finally {
      elsewhere.close();
    }
  });

  it("accepts a transaction on another connection to the same file, however its path is spelled", async () => {
    const link = `${dir.path}-link`;
    symlinkSync(dir.path, link);
    const second = new Database(join(relative(process.cwd(), link), basename(file)));
    try {
      const task = id();
      second.transaction(() => {
        void backend.inTransaction(second).markAsDone(task, "through a symlink");
      })();
      assert.equal((await backend.getTaskMeta(task)).result, "through a symlink");
    } finally {
      second.close();
      unlinkSync(link);
    }
  });

  // Last in this file: it creates the archive, which changes what every later store does.
  it("writes inside the application's transaction keep precedence across tiers once the archive exists", async () => {
    await backend.createArchive();
    const task = id();
    await backend.markAsDone(task, "first", { now: new Date(Date.now() - 10 * 86_400_000) });
    assert.equal((await backend.cleanup({ archiveAfter: "7d", expires: null })).archived, 1);
    db.exec("BEGIN IMMEDIATE");
    assert.equal(await backend.inTransaction(db).markAsStarted(task), false, "a late STARTED is refused inside the transaction too");
    assert.equal(await backend.inTransaction(db).markAsDone(task, "second"), true);
    db.exec("ROLLBACK");
    assert.equal((await backend.getTaskMeta(task)).result, "first", "rolled back: the archived row is still the task");
    db.exec("BEGIN IMMEDIATE");
    assert.equal(await backend.inTransaction(db).markAsDone(task, "second"), true);
    db.exec("COMMIT");
    assert.equal((await backend.getTaskMeta(task)).result, "second");
    assert.equal(await backend.audit.count({ idPrefix: task }), 1);
  });
});
