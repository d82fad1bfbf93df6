/**
 * Store rates on MariaDB/MySQL against the floor of the raw driver: single stores one at a time
 * (taskledger vs a plain mysql2 upsert of the same row on one connection, in alternating rounds
 * so neither gets the warmer table), eight concurrent callers, and storeMany in batches of 10,000.
 * One fresh database, dropped afterwards.
 *
 *   node --import tsx bench/mysql-store.ts [mysql://root@127.0.0.1:3306/test] [stores]
 */
import { randomBytes, randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { openBackend, states } from "../src/index.js";

const base = process.argv[2] ?? process.env["TASKLEDGER_TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306/test";
const N = Number(process.argv[3] ?? 2000);
const admin = await mysql.createConnection(base);
const name = `tl_store_${randomBytes(4).toString("hex")}`;
await admin.query(`CREATE DATABASE \`${name}\``);
const url = new URL(base);
url.pathname = `/${name}`;
const rate = (count: number, since: number) => count / ((performance.now() - since) / 1000);
try {
  const backend = await openBackend({ url: url.toString() });
  // The floor: one upsert of the same row through mysql2 alone, on one connection (the triggers run for both).
  const raw = await mysql.createConnection(url.toString());
  const rawStore = (i: number) =>
    raw.execute(
      `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_updated)
        VALUES (NEXTVAL(task_id_sequence), ?, 'SUCCESS', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE status = VALUES(status)`,
      [randomUUID(), Buffer.from(String(i))],
    );
  let ours = 0;
  let theirs = 0;
  const ROUNDS = 6;
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    for (let i = 0; i < N / ROUNDS; i++) await backend.markAsDone(randomUUID(), i);
    ours += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < N / ROUNDS; i++) await rawStore(i);
    theirs += performance.now() - t;
  }
  const single = N / (ours / 1000);
  const floor = N / (theirs / 1000);
  let t = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < N / 8; i++) await backend.markAsDone(randomUUID(), i);
    }),
  );
  const concurrent = rate(N, t);
  t = performance.now();
  for (let k = 0; k < 5; k++)
    await backend.storeMany(Array.from({ length: 10_000 }, (_, i) => ({ taskId: randomUUID(), status: states.SUCCESS, result: i })));
  const batch = rate(50_000, t);
  console.log(
    `single store, one caller: ${single.toFixed(0)}/s (raw mysql2 upsert ${floor.toFixed(0)}/s, ${(single / floor).toFixed(2)}x)`,
  );
  console.log(`single store, 8 concurrent callers: ${concurrent.toFixed(0)}/s`);
  console.log(`storeMany, batches of 10,000: ${batch.toFixed(0)} rows/s`);
  await raw.end();
  await backend.close();
} finally {
  await admin.query(`DROP DATABASE \`${name}\``);
  await admin.end();
}
