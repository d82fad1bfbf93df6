/**
 * PostgreSQL only: the lean client pool never hands a query to a pg.Client that is still running
 * one. pg 8 prints a DeprecationWarning for that in every concurrent process and pg 9 makes it an
 * error (#16 item 5).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
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
