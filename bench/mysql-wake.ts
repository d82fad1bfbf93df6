/**
 * Wake-up latency on MariaDB/MySQL: a waiter in this process (get() with a re-read interval far
 * beyond the run, so only the change poller can wake it) and a writer on another connection
 * that commits the SUCCESS row with plain SQL, as Celery would. Prints p50/p90/p99 of the time
 * from the writer sending its autocommitted INSERT to get() resolving (the commit is visible to the
 * poller before the writer's reply arrives, so timing from the reply reads some wake-ups as early),
 * and the same from the reply.
 *
 *   node --import tsx bench/mysql-wake.ts [mysql://root@127.0.0.1:3306/test] [rounds]
 */
import { randomBytes, randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { AsyncResult, openBackend } from "../src/index.js";

const base = process.argv[2] ?? process.env["TASKLEDGER_TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306/test";
const rounds = Number(process.argv[3] ?? 200);
const admin = await mysql.createConnection(base);
const name = `tl_wake_${randomBytes(4).toString("hex")}`;
await admin.query(`CREATE DATABASE \`${name}\``);
const url = new URL(base);
url.pathname = `/${name}`;
try {
  const backend = await openBackend({ url: url.toString() });
  const writer = await mysql.createConnection(url.toString());
  const fromSend: number[] = [];
  const fromReply: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const id = randomUUID();
    const waiting = new AsyncResult(id, backend).get({ interval: 600_000, timeout: 10_000 }).then(() => performance.now());
    // Let the waiter read PENDING and register its interest.
    // (and a random phase against the poller's 10 ms tick, which a fixed pause would lock onto).
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 10));
    const sent = performance.now();
    await writer.query(
      "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done) VALUES (NEXTVAL(task_id_sequence), ?, 'SUCCESS', ?, UTC_TIMESTAMP(6))",
      [id, Buffer.from("1")],
    );
    const committed = performance.now();
    const woke = await waiting;
    fromSend.push(woke - sent);
    fromReply.push(woke - committed);
  }
  const line = (label: string, took: number[]) => {
    took.sort((a, b) => a - b);
    const at = (q: number) => took[Math.min(took.length - 1, Math.floor(q * took.length))]!.toFixed(1);
    console.log(`${label}, ${rounds} rounds: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms`);
  };
  line("wake-up from the other connection's INSERT sent", fromSend);
  line("wake-up from its COMMIT reply", fromReply);
  await writer.end();
  await backend.close();
} finally {
  await admin.query(`DROP DATABASE \`${name}\``);
  await admin.end();
}
