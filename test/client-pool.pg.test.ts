/**
 * PostgreSQL only: the lean client pool never hands a query to a pg.Client that is still running
 * one (pg 8 prints a DeprecationWarning for that in every concurrent process and pg 9 makes it an
 * error), and its end() holds every connection until it has closed.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { ClientPool } from "../src/db/pg/client-pool.js";
import { openBackend, states } from "../src/index.js";
import { createTestDatabase, pgSkip, type TestDatabase } from "./helpers/pg.js";

const skip = await pgSkip();
let db: TestDatabase | undefined;
after(async () => db?.drop());

test("concurrent stores and reads raise no pg query-queue deprecation warning", { skip }, async () => {
  db = await createTestDatabase("client_pool");
  const warnings: string[] = [];
  process.on("warning", (warning) => warnings.push(warning.message));
  const backend = await openBackend({ url: db.url, poolSize: 2 });
  try {
    const ids = Array.from({ length: 200 }, (_, i) => `pool-${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 ? backend.markAsDone(id, i) : backend.storeResult(id, null, states.STARTED))));
    const metas = await Promise.all(ids.map((id) => backend.getTaskMeta(id)));
    assert.equal(metas.filter((m) => m.status === states.SUCCESS).length, 100);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.filter((m) => m.includes("already executing a query")),
      [],
    );
  } finally {
    await backend.close();
  }
});

test("end() keeps every connection held until it has closed, even one whose last query is just finishing", { skip }, async () => {
  const database = await createTestDatabase("client_pool_end");
  try {
    const pool = new ClientPool({ connectionString: database.url }, 2);
    await pool.query({ text: "SELECT 1" });
    const client = (pool as unknown as { clients: { client: pg.Client }[] }).clients[0]!.client;
    const socket = (client as unknown as { connection: { stream: { _handle?: { hasRef(): boolean } } } }).connection.stream;
    // end() begins the moment the server's reply arrives, before the pool's own bookkeeping for
    // that query runs: the order an application gets when a NOTIFY wakes it first and it closes.
    let ending: Promise<void> | undefined;
    const original = client.query.bind(client) as (config: pg.QueryConfig) => Promise<pg.QueryResult>;
    (client as unknown as { query: typeof original }).query = (config) => {
      const reply = original(config);
      void reply.then(() => (ending = pool.end()));
      return reply;
    };
    await pool.query({ text: "SELECT 2" });
    assert.ok(ending, "end() had begun");
    // Unheld now, the socket would let Node exit while end() still awaits the server's goodbye
    // (exit code 13 for a top-level `await backend.close()`).
    assert.equal(socket._handle?.hasRef(), true, "the connection is still held while end() waits for it to close");
    await ending;
  } finally {
    await database.drop();
  }
});
