/**
 * taskledger on MariaDB/MySQL against raw mysql2 running the very statements taskledger sends
 * (captured from its pool on a first call, then replayed with fresh task ids on a pool with the
 * same session settings), and against Celery 5.2's DatabaseBackend on the same server (pooled,
 * as in a worker). Rounds interleaved (A B, B A, ...) after a warm-up, medians and ratios within
 * this one run. One fresh database per side, dropped afterwards.
 *
 *   node --import tsx bench/mysql-bench.ts [mysql://root@127.0.0.1:3306/test] [--rounds 12] [--n 300] [--no-celery]
 */
import { randomBytes, randomUUID } from "node:crypto";
import mysql from "mysql2/promise";
import { openBackendOver } from "../src/backend/open-backend.js";
import type { Driver } from "../src/db/driver.js";
import { connectionOptions, SESSION_SETUP } from "../src/db/mysql/pool.js";
import { CeleryProcess } from "./celery.js";
import { interleave, medianOf, numberArg, opsPerSecond, out, printTable, printTargets, ratioTarget } from "./lib.js";

const base =
  process.argv.slice(2).find((a) => a.startsWith("mysql://")) ??
  process.env["TASKLEDGER_TEST_MYSQL_URL"] ??
  "mysql://root@127.0.0.1:3306/test";
const ROUNDS = numberArg("rounds", 12);
const N = numberArg("n", 300);
const BATCH = 10_000;
const celery = !process.argv.includes("--no-celery");
const PAYLOAD = { n: 1, payload: "x".repeat(100) }; // what celery_side.py stores too

const admin = await mysql.createConnection(base);
const tag = randomBytes(4).toString("hex");
const names = [`tl_bench_${tag}`, `tl_bench_${tag}_cel`];
for (const name of names) await admin.query(`CREATE DATABASE \`${name}\``);
const urlOf = (name: string) => {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
};

interface Sent {
  sql: string;
  values: unknown[];
}

type CorePool = { config: { connectionLimit: number } };

try {
  let driver: Driver | undefined;
  const backend = await openBackendOver(urlOf(names[0]!), (d) => (driver = d));
  const pool = (driver as unknown as { pool: mysql.Pool & { pool: CorePool } }).pool;
  const size = pool.pool.config.connectionLimit;

  // Records what taskledger sends through its pool (pool.execute) and through taken connections (batches).
  const capture = async (body: () => Promise<unknown>): Promise<Sent[]> => {
    const sent: Sent[] = [];
    const execute = pool.execute;
    const getConnection = pool.getConnection;
    const record = (options: unknown) => {
      const o = options as Sent;
      sent.push({ sql: o.sql, values: [...o.values] });
    };
    const anyExecute = execute as unknown as (this: unknown, ...args: unknown[]) => unknown;
    pool.execute = ((...args: unknown[]) => (record(args[0]), anyExecute.apply(pool, args))) as typeof pool.execute;
    pool.getConnection = (async () => {
      const connection = await getConnection.call(pool);
      const own = connection.execute as unknown as (this: unknown, ...args: unknown[]) => unknown;
      connection.execute = ((...args: unknown[]) => (record(args[0]), own.apply(connection, args))) as typeof connection.execute;
      return connection;
    }) as typeof pool.getConnection;
    try {
      await body();
    } finally {
      pool.execute = execute;
      pool.getConnection = getConnection;
    }
    return sent;
  };

  // The floor: a mysql2 pool of the same size and session (strict, UTC, READ COMMITTED, no found rows).
  const raw = mysql.createPool({ ...connectionOptions(urlOf(names[0]!)), connectionLimit: size, maxIdle: size });
  raw.pool.on("connection", (connection) => {
    for (const statement of SESSION_SETUP) connection.query(statement, () => undefined);
  });

  const probeId = randomUUID();
  const [store] = (await capture(() => backend.markAsDone(probeId, PAYLOAD))).filter((s) => s.sql.startsWith("INSERT"));
  const [read] = await capture(() => backend.getTaskMeta(probeId));
  if (!store || !read) throw new Error("did not capture the store and read statements");
  const idAt = store.values.indexOf(probeId);
  const resultAt = store.values.findIndex((v) => Buffer.isBuffer(v));
  // A raw caller encodes the value and sends the statement; nothing else.
  const rawStore = (id: string) => {
    const values = [...store.values];
    values[idAt] = id;
    values[resultAt] = Buffer.from(JSON.stringify({ status: "SUCCESS", result: PAYLOAD, traceback: null, children: [], task_id: id }));
    return raw.execute({ sql: store.sql, values, dateStrings: true });
  };
  const rawRead = async (id: string) => {
    const [rows] = (await raw.execute({ sql: read.sql, values: [id], dateStrings: true })) as unknown as [{ result: Buffer | null }[]];
    return rows[0]?.result ? JSON.parse(rows[0].result.toString()) : undefined;
  };

  const batchIds = Array.from({ length: BATCH }, () => randomUUID());
  const batchSent = await capture(() => backend.storeMany(batchIds.map((taskId) => ({ taskId, status: "SUCCESS", result: PAYLOAD }))));
  const batchStatements = batchSent.filter((s) => s.sql.startsWith("INSERT"));
  const batchIndex = new Map<unknown, number>(batchIds.map((id, i) => [id, i]));
  const rawBatch = async () => {
    const fresh = Array.from({ length: BATCH }, () => randomUUID());
    const connection = await raw.getConnection();
    try {
      await connection.beginTransaction();
      for (const s of batchStatements) {
        const values = s.values.map((v) => {
          const i = typeof v === "string" ? batchIndex.get(v) : undefined;
          return i === undefined ? v : fresh[i];
        });
        await connection.execute({ sql: s.sql, values, dateStrings: true });
      }
      await connection.commit();
    } finally {
      connection.release();
    }
  };

  const seeded = Array.from({ length: N }, () => randomUUID());
  await backend.storeMany(seeded.map((taskId) => ({ taskId, status: "SUCCESS", result: PAYLOAD })));

  const callers = (k: number, body: () => Promise<unknown>) =>
    Promise.all(
      Array.from({ length: k }, async () => {
        for (let i = 0; i < N / k; i++) await body();
      }),
    );

  let cel: CeleryProcess | undefined;
  if (celery) {
    cel = await CeleryProcess.start(`db+mysql+pymysql://${new URL(base).username || "root"}@${new URL(base).host}/${names[1]}`);
    await cel.call({ op: "prepare", mode: "pooled" });
  }
  out.print(`# taskledger on MariaDB vs raw mysql2 and Celery ${cel ? String((await cel.call({ op: "info" }))["celery"]) : "(not run)"}`);
  out.print(`\n${ROUNDS} interleaved rounds after a warm-up; ${N} operations per round; pool of ${size} connections on both sides.`);

  const storeOne = await interleave(ROUNDS, [
    {
      name: "taskledger markAsDone",
      round: () =>
        opsPerSecond(N, async () => {
          for (let i = 0; i < N; i++) await backend.markAsDone(randomUUID(), PAYLOAD);
        }),
    },
    {
      name: "raw mysql2, same statement",
      round: () =>
        opsPerSecond(N, async () => {
          for (let i = 0; i < N; i++) await rawStore(randomUUID());
        }),
    },
    ...(cel ? [{ name: "Celery 5.2 mark_as_done (pooled)", round: () => cel.opsPerSecond({ op: "store", mode: "pooled", n: N }) }] : []),
  ]);
  printTable({
    title: "single store, one caller",
    unit: "stores/s",
    better: "higher",
    reference: "taskledger markAsDone",
    rows: [...storeOne].map(([name, values]) => ({ name, values })),
  });
  ratioTarget(
    "store, 1 caller",
    ">= 0.85x raw mysql2",
    medianOf(storeOne, "taskledger markAsDone") / medianOf(storeOne, "raw mysql2, same statement"),
    0.85,
  );
  if (cel)
    ratioTarget(
      "store, pooled",
      ">= 3x Celery 5.2 pooled",
      medianOf(storeOne, "taskledger markAsDone") / medianOf(storeOne, "Celery 5.2 mark_as_done (pooled)"),
      3,
    );

  const storeEight = await interleave(ROUNDS, [
    { name: "taskledger markAsDone", round: () => opsPerSecond(N, () => callers(8, () => backend.markAsDone(randomUUID(), PAYLOAD))) },
    { name: "raw mysql2, same statement", round: () => opsPerSecond(N, () => callers(8, () => rawStore(randomUUID()))) },
    ...(cel
      ? [
          {
            name: "Celery 5.2 mark_as_done (pooled, 8 threads)",
            round: async () => cel.opsPerSecond({ op: "store_threads", mode: "pooled", n: N, threads: 8 }),
          },
        ]
      : []),
  ]);
  printTable({
    title: "single store, 8 concurrent callers",
    unit: "stores/s",
    better: "higher",
    reference: "taskledger markAsDone",
    rows: [...storeEight].map(([name, values]) => ({ name, values })),
  });
  ratioTarget(
    "store, 8 callers",
    ">= 0.85x raw mysql2",
    medianOf(storeEight, "taskledger markAsDone") / medianOf(storeEight, "raw mysql2, same statement"),
    0.85,
  );

  let at = 0;
  const next = () => seeded[at++ % seeded.length]!;
  const readOne = await interleave(ROUNDS, [
    {
      name: "taskledger getTaskMeta",
      round: () =>
        opsPerSecond(N, async () => {
          for (let i = 0; i < N; i++) await backend.getTaskMeta(next());
        }),
    },
    {
      name: "raw mysql2, same statement + JSON.parse",
      round: () =>
        opsPerSecond(N, async () => {
          for (let i = 0; i < N; i++) await rawRead(next());
        }),
    },
  ]);
  printTable({
    title: "read one result, one caller",
    unit: "reads/s",
    better: "higher",
    reference: "taskledger getTaskMeta",
    rows: [...readOne].map(([name, values]) => ({ name, values })),
  });
  ratioTarget(
    "read, 1 caller",
    ">= 0.85x raw mysql2",
    medianOf(readOne, "taskledger getTaskMeta") / medianOf(readOne, "raw mysql2, same statement + JSON.parse"),
    0.85,
  );

  const batch = await interleave(ROUNDS, [
    {
      name: "taskledger storeMany(10,000)",
      round: () =>
        opsPerSecond(BATCH, () =>
          backend.storeMany(Array.from({ length: BATCH }, () => ({ taskId: randomUUID(), status: "SUCCESS", result: PAYLOAD }))),
        ),
    },
    { name: `raw mysql2, same ${batchStatements.length} statements in one transaction`, round: () => opsPerSecond(BATCH, rawBatch) },
  ]);
  printTable({
    title: "storeMany, batches of 10,000",
    unit: "rows/s",
    better: "higher",
    reference: "taskledger storeMany(10,000)",
    rows: [...batch].map(([name, values]) => ({ name, values })),
  });
  const batchRatio = medianOf(batch, "taskledger storeMany(10,000)") / medianOf(batch, [...batch.keys()][1]);
  ratioTarget("storeMany 10k", ">= 0.75x raw mysql2", batchRatio, 0.75);

  out.print(`\nCaptured store statement (${store.values.length} values): \`${store.sql.replace(/\s+/g, " ").slice(0, 160)}…\``);
  printTargets();
  await cel?.close();
  await raw.end();
  await backend.close();
} finally {
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.end();
}
