/**
 * The web view at 1,000,000 rows: server time of a tasks page (100 rows) under each
 * single filter and of the 24-hour overview, measured through the Hono app in process (no
 * network), and what migration 0004's indexes cost: their build time and size at 1M rows, and
 * store throughput with and without them, rounds interleaved.
 *
 * Data (server-side SQL, not the library): ids ascending with time over the last 7 days (about
 * 143k rows per 24 h); 90% SUCCESS, 6% FAILURE (three exception kinds), 2% STARTED, 1% RETRY,
 * 1% REVOKED; 20 task names plus a rare one (0.01%), 8 workers, 4 queues, 10% of rows in groups
 * of 10; random-looking ids.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createWebApp } from "../../src/web/server.js";
import { emptyDatabase, type DbHandle } from "../fixtures.js";
import { checkTarget, fmt, fmtAuto, fmtRatio, interleave, median, opsPerSecond, out, printTable, summarize } from "../lib.js";
import type { BenchContext, Scenario } from "../scenario.js";

const WEB_INDEXES = [
  "ix_celery_taskmeta_status_id",
  "ix_celery_taskmeta_name_id",
  "ix_celery_taskmeta_worker_id",
  "ix_celery_taskmeta_queue_id",
  "ix_celery_taskmeta_group_id_id",
  "ix_celery_taskmeta_task_id_pattern",
];
const INDEX_DDL: Record<string, string> = {
  ix_celery_taskmeta_status_id: "(status, id)",
  ix_celery_taskmeta_name_id: "(name, id)",
  ix_celery_taskmeta_worker_id: "(worker, id)",
  ix_celery_taskmeta_queue_id: "(queue, id)",
  ix_celery_taskmeta_group_id_id: "(group_id, id)",
  ix_celery_taskmeta_task_id_pattern: "(task_id varchar_pattern_ops)",
};
const indexesFor = (dialect: string) => WEB_INDEXES.filter((n) => dialect === "postgresql" || !n.endsWith("_pattern"));

/** The stored bytes of SUCCESS and of three exceptions, written once through the library. */
async function storedValues(): Promise<{ ok: Buffer; errors: Buffer[] }> {
  const dir = mkdtempSync(join(tmpdir(), "taskledger-bench-web-"));
  try {
    const file = join(dir, "values.db");
    const backend = await openBackend({ url: file });
    await backend.markAsDone("ok", { rows: 42, ok: true });
    await backend.markAsFailure("e0", new RangeError("row 7 out of range"));
    await backend.markAsFailure("e1", new TypeError("expected str, got None"));
    await backend.markAsFailure("e2", new Error("connection reset by peer"));
    await backend.close();
    const db = new Database(file, { readonly: true });
    const get = (id: string) => db.prepare("SELECT result FROM celery_taskmeta WHERE task_id = ?").pluck().get(id) as Buffer;
    const values = { ok: get("ok"), errors: [get("e0"), get("e1"), get("e2")] };
    db.close();
    return values;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const STATUS_SQL =
  "CASE WHEN i % 100 < 90 THEN 'SUCCESS' WHEN i % 100 < 96 THEN 'FAILURE' WHEN i % 100 < 98 THEN 'STARTED' WHEN i % 100 < 99 THEN 'RETRY' ELSE 'REVOKED' END";
const COLUMNS = "id, task_id, status, result, date_done, traceback, name, worker, queue, group_id, date_updated";
const body = (ok: string, e: [string, string, string]) => `
  CASE WHEN st IN ('FAILURE', 'RETRY') THEN (CASE i % 3 WHEN 0 THEN ${e[0]} WHEN 1 THEN ${e[1]} ELSE ${e[2]} END) WHEN st = 'SUCCESS' THEN ${ok} ELSE NULL END,
  CASE WHEN st IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN t ELSE NULL END,
  CASE WHEN st = 'FAILURE' THEN 'Traceback (most recent call last):\n  File "app.py", line 12, in run' ELSE NULL END,
  CASE WHEN i % 10000 = 7 THEN 'reports.yearly' ELSE 'app.task' || ((i * 7) % 20) END,
  'celery@worker' || (i % 8), 'q' || (i % 4),
  CASE WHEN (i / 10) % 10 = 0 THEN 'g-' || (i / 10) ELSE NULL END, t`;

async function fill(db: DbHandle, rows: number): Promise<{ indexMs: number; sizes: Map<string, number> }> {
  const values = await storedValues();
  const sizes = new Map<string, number>();
  if (db.dialect === "postgresql") {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const name of WEB_INDEXES) await client.query(`DROP INDEX ${name}`);
      await client.query(
        `INSERT INTO celery_taskmeta (${COLUMNS})
        SELECT i, md5(i::text), st, ${body("$1::bytea", ["$2::bytea", "$3::bytea", "$4::bytea"])}
        FROM (SELECT i, ${STATUS_SQL} AS st, timezone('utc', now()) - interval '7 days' + (i::float8 / $5) * interval '7 days' AS t FROM generate_series(1, $5::int) i) s`,
        [values.ok, ...values.errors, rows],
      );
      await client.query("SELECT setval('task_id_sequence', $1)", [rows]);
      const started = performance.now();
      for (const name of WEB_INDEXES) await client.query(`CREATE INDEX ${name} ON celery_taskmeta ${INDEX_DDL[name]}`);
      const indexMs = performance.now() - started;
      await client.query("VACUUM ANALYZE celery_taskmeta");
      for (const name of WEB_INDEXES)
        sizes.set(name, Number((await client.query("SELECT pg_relation_size($1::regclass) AS b", [name])).rows[0].b));
      return { indexMs, sizes };
    } finally {
      await client.end();
    }
  }
  const sqlite = new Database(db.file!);
  try {
    for (const name of indexesFor("sqlite")) sqlite.exec(`DROP INDEX ${name}`);
    sqlite
      .prepare(
        `INSERT INTO celery_taskmeta (${COLUMNS})
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @rows)
      SELECT i, lower(hex(randomblob(16))), st, ${body("@ok", ["@e0", "@e1", "@e2"])}
      FROM (SELECT i, ${STATUS_SQL} AS st, strftime('%Y-%m-%d %H:%M:%f', julianday('now') - 7 + 7.0 * i / @rows) || '000' AS t FROM n)`,
      )
      .run({ rows, ok: values.ok, e0: values.errors[0], e1: values.errors[1], e2: values.errors[2] });
    const started = performance.now();
    for (const name of indexesFor("sqlite")) sqlite.exec(`CREATE INDEX ${name} ON celery_taskmeta ${INDEX_DDL[name]}`);
    const indexMs = performance.now() - started;
    sqlite.exec("ANALYZE");
    try {
      for (const name of indexesFor("sqlite"))
        sizes.set(name, Number(sqlite.prepare("SELECT sum(pgsize) FROM dbstat WHERE name = ?").pluck().get(name)));
    } catch {
      // dbstat is an optional SQLite module; sizes are then left out.
    }
    sqlite.pragma("wal_checkpoint(TRUNCATE)");
    return { indexMs, sizes };
  } finally {
    sqlite.close();
  }
}

async function sampleValues(backend: DatabaseBackend): Promise<{ prefix: string; group: string }> {
  const [middle] = await backend.audit.list({ groups: undefined }, { limit: 1, order: "newest", afterId: 500_000 });
  const [grouped] = await backend.audit.list({ names: ["app.task3"], since: new Date(Date.now() - 3 * 86_400_000) }, { limit: 50 });
  const group = (await backend.audit.list({ since: new Date(Date.now() - 86_400_000 * 3) }, { limit: 200 })).find((e) => e.row.groupId)?.row
    .groupId;
  return { prefix: (middle ?? grouped)!.row.taskId.slice(0, 6), group: group ?? "g-10" };
}

async function timedRequests(backend: DatabaseBackend, paths: string[], runs: number): Promise<Map<string, number[]>> {
  const app = createWebApp(backend);
  const times = new Map<string, number[]>(paths.map((p) => [p, []]));
  for (let round = -1; round < runs; round++) {
    for (const path of paths) {
      const started = performance.now();
      const res = await app.request(`http://127.0.0.1:8765${path}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
      if (round >= 0) times.get(path)!.push(performance.now() - started);
    }
  }
  return times;
}

async function storeCost(ctx: BenchContext, dialect: DbHandle["dialect"]): Promise<void> {
  const withIx = await emptyDatabase(dialect, "taskledger", "web_store_ix");
  const without = await emptyDatabase(dialect, "taskledger", "web_store_noix");
  const drop = indexesFor(dialect).map((n) => `DROP INDEX ${n}`);
  if (dialect === "postgresql") {
    const client = new pg.Client({ connectionString: without.url });
    await client.connect();
    for (const statement of drop) await client.query(statement);
    await client.end();
  } else {
    const sqlite = new Database(without.file!);
    for (const statement of drop) sqlite.exec(statement);
    sqlite.close();
  }
  const opened = await Promise.all([withIx, without].map((db) => openBackend({ url: db.url, migrate: false, resultExtended: true })));
  const ops = Math.min(ctx.plan.ops, 500); // a single store is ~7 ms on this shared PostgreSQL: keep the scenario short
  let serial = 0;
  const request = (i: number) => ({
    name: `app.task${i % 20}`,
    worker: `celery@worker${i % 8}`,
    queue: `q${i % 4}`,
    groupId: i % 10 === 0 ? `g-${i}` : null,
  });
  try {
    const contenders = opened.flatMap((backend, k) => {
      const label = k === 0 ? "with 0004 indexes" : "without them";
      return [
        {
          name: `markAsDone, ${label}`,
          round: async () =>
            opsPerSecond(ops, async () => {
              for (let i = 0; i < ops; i++) await backend.markAsDone(`s${k}-${serial++}`, { n: i }, { request: request(i) });
            }),
        },
        {
          name: `storeMany 5,000, ${label}`,
          round: async () =>
            opsPerSecond(5000, () =>
              backend.storeMany(
                Array.from({ length: 5000 }, (_, i) => ({
                  taskId: `b${k}-${serial++}`,
                  status: "SUCCESS",
                  result: { n: i },
                  request: request(i),
                })),
              ),
            ),
        },
      ];
    });
    const results = await interleave(ctx.plan.rounds, contenders);
    const rows = [...results].map(([name, values]) => ({ name, values }));
    printTable({
      title: `${dialect === "postgresql" ? "PostgreSQL" : "SQLite"}: store throughput with and without the web view's indexes`,
      unit: "ops/s",
      better: "higher",
      rows,
      reference: "markAsDone, with 0004 indexes",
      ratioColumn: {
        header: "with indexes / without",
        cell: (row) => {
          if (!row.name.includes("with 0004")) return "—";
          const twin = results.get(row.name.replace("with 0004 indexes", "without them"))!;
          return fmtRatio(median(row.values) / median(twin));
        },
      },
    });
  } finally {
    await Promise.all(opened.map((b) => b.close()));
    await withIx.drop();
    await without.drop();
  }
}

export const web: Scenario = {
  name: "web",
  title: "Web view: tasks pages and the 24 h overview at 1,000,000 rows; what the indexes cost a store",
  async run(ctx: BenchContext) {
    const rows = ctx.plan.rounds < 7 ? 100_000 : 1_000_000;
    const runs = ctx.plan.rounds < 7 ? 3 : 7;
    for (const side of ctx.sides) {
      const label = side.dialect === "postgresql" ? "PostgreSQL" : "SQLite";
      const db = await emptyDatabase(side.dialect, "taskledger", "web");
      try {
        const fillStarted = performance.now();
        const { indexMs, sizes } = await fill(db, rows);
        out.print(
          `\n${label}: ${fmt(rows)} rows filled in ${fmt((performance.now() - fillStarted) / 1000, 1)} s; migration 0004's ${indexesFor(side.dialect).length} indexes built in ${fmt(indexMs / 1000, 1)} s${sizes.size ? `, ${fmt([...sizes.values()].reduce((a, b) => a + b, 0) / 2 ** 20, 1)} MiB together (${[...sizes].map(([n, b]) => `${n.replace("ix_celery_taskmeta_", "")} ${fmt(b / 2 ** 20, 1)}`).join(", ")} MiB)` : ""}.`,
        );
        const backend = await openBackend({ url: db.url, migrate: false });
        try {
          const { prefix, group } = await sampleValues(backend);
          const pages = [
            "/api/tasks",
            "/api/tasks?state=FAILURE",
            "/api/tasks?state=REVOKED",
            "/api/tasks?state=STARTED",
            "/api/tasks?name=app.task3",
            "/api/tasks?name=reports.yearly",
            "/api/tasks?worker=celery@worker3",
            "/api/tasks?queue=q2",
            `/api/tasks?group=${group}`,
            `/api/tasks?id=${prefix}`,
            "/api/tasks?since=1h",
            "/api/tasks?since=24h",
            "/api/tasks?until=6d",
            "/tasks?state=FAILURE",
          ];
          const overview = ["/?range=24h", "/api/stats?range=24h", "/api/failures?since=24h"];
          const times = await timedRequests(backend, [...pages, ...overview], runs);
          const rowsOf = (paths: string[]) => paths.map((p) => ({ name: `GET ${p}`, values: times.get(p)! }));
          printTable({
            title: `${label}, ${fmt(rows)} rows: a tasks page (100 rows), server time`,
            unit: "ms",
            better: "lower",
            rows: rowsOf(pages),
            reference: "GET /api/tasks",
            ratioColumn: { header: "p100", cell: (r) => `${fmtAuto(summarize(r.values).max)} ms` },
          });
          printTable({
            title: `${label}, ${fmt(rows)} rows: the overview of the last 24 h, server time`,
            unit: "ms",
            better: "lower",
            rows: rowsOf(overview),
            reference: "GET /?range=24h",
            ratioColumn: { header: "p100", cell: (r) => `${fmtAuto(summarize(r.values).max)} ms` },
          });
          const worstPage = Math.max(...pages.map((p) => median(times.get(p)!)));
          const overviewMs = median(times.get("/?range=24h")!);
          if (side.dialect === "postgresql") {
            checkTarget(
              "web",
              `tasks page, any single filter, at ${fmt(rows)} rows < 100 ms (PostgreSQL)`,
              `${fmtAuto(worstPage)} ms (slowest median)`,
              rows < 1_000_000 ? null : worstPage < 100,
            );
            checkTarget(
              "web",
              `overview, last 24 h, at ${fmt(rows)} rows < 500 ms (PostgreSQL)`,
              `${fmtAuto(overviewMs)} ms`,
              rows < 1_000_000 ? null : overviewMs < 500,
            );
          } else {
            checkTarget(
              "web",
              `SQLite, ${fmt(rows)} rows: slowest tasks page / overview 24 h`,
              `${fmtAuto(worstPage)} ms / ${fmtAuto(overviewMs)} ms`,
              null,
            );
          }
        } finally {
          await backend.close();
        }
      } finally {
        await db.drop();
      }
      await storeCost(ctx, side.dialect);
    }
  },
};
