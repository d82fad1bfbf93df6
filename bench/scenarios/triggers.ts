/**
 * What waking and history by triggers cost, and how fast waiters wake on any writer's commit.
 * Three databases per dialect, measured interleaved in one run:
 * - "plain": taskledger's tables with every trigger dropped; the raw driver's plain upsert there
 *   (no NOTIFY, no trigger) is the floor;
 * - "history off": the notify trigger only (`history: false`);
 * - "history on": the notify and history triggers (the default).
 * Nobody waits on the stored ids, so the notify trigger sends nothing: the interest design's
 * claim is that such commits cost (almost) nothing extra.
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { AsyncResult, openBackend, states, type DatabaseBackend } from "../../src/index.js";
import { CeleryProcess } from "../celery.js";
import { NodeChild } from "../child.js";
import { emptyDatabase, type DbHandle } from "../fixtures.js";
import {
  checkTarget,
  fmt,
  interleave,
  median,
  opsPerSecond,
  out,
  printTable,
  ratioTarget,
  sleep,
  summarize,
  type Contender,
} from "../lib.js";
import { openRaw, opsFor, PAYLOAD, type BenchContext, type Scenario, type Side } from "../scenario.js";

const CALLERS = 8;
const REQUEST = { name: "bench.task", args: [1, "a"], kwargs: { k: "v" }, worker: "bench@w1", retries: 0, queue: "celery" };

const PG_TRIGGERS = ["tl_notify", "tl_history_insert", "tl_history_update", "tl_history_delete"].map((s) => `celery_taskmeta_${s}`);

/** Drops every taskledger trigger, leaving Celery's plain table (the raw baseline's floor). */
async function dropTriggers(db: DbHandle): Promise<void> {
  if (db.dialect === "postgresql") {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const name of PG_TRIGGERS) await client.query(`DROP TRIGGER IF EXISTS "${name}" ON celery_taskmeta`);
    } finally {
      await client.end();
    }
  } else {
    const file = new Database(db.file!);
    for (const name of PG_TRIGGERS) file.exec(`DROP TRIGGER IF EXISTS "${name}"`);
    file.close();
  }
}

/** The raw driver's batch of the same columns taskledger's storeMany writes with request metadata. */
function rawBatch(db: DbHandle): { run(n: number): Promise<void>; close(): Promise<void> } {
  const columns = "task_id, status, result, date_done, traceback, name, args, kwargs, worker, retries, queue, date_updated";
  const update =
    "status = excluded.status, result = excluded.result, date_done = excluded.date_done, traceback = excluded.traceback, name = excluded.name, args = excluded.args, kwargs = excluded.kwargs, worker = excluded.worker, retries = excluded.retries, queue = excluded.queue, date_updated = excluded.date_updated";
  const guard =
    "WHERE celery_taskmeta.status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED') OR excluded.status IN ('SUCCESS', 'FAILURE', 'REVOKED')";
  const now = () => new Date().toISOString().replace("T", " ").replace("Z", "000");
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v));
  if (db.dialect === "postgresql") {
    const client = new pg.Client({ connectionString: db.url });
    const connected = client.connect();
    const text = `INSERT INTO celery_taskmeta (id, ${columns})
      SELECT nextval('task_id_sequence'), i.* FROM unnest($1::varchar[], $2::varchar[], $3::bytea[], $4::timestamp[], $5::text[], $6::varchar[], $7::bytea[], $8::bytea[], $9::varchar[], $10::int[], $11::varchar[], $12::timestamp[]) AS i(${columns})
      ON CONFLICT (task_id) DO UPDATE SET ${update} ${guard}`;
    return {
      async run(n) {
        await connected;
        const t = now();
        const fill = (v: unknown) => new Array(n).fill(v);
        await client.query({
          name: "raw_batch_ext",
          text,
          values: [
            Array.from({ length: n }, () => randomUUID()),
            fill("SUCCESS"),
            Array.from({ length: n }, (_, i) => enc({ i, ok: true })),
            fill(t),
            fill(null),
            fill(REQUEST.name),
            fill(enc(REQUEST.args)),
            fill(enc(REQUEST.kwargs)),
            fill(REQUEST.worker),
            fill(REQUEST.retries),
            fill(REQUEST.queue),
            fill(t),
          ],
        });
      },
      close: async () => {
        await connected;
        await client.end();
      },
    };
  }
  const file = new Database(db.file!);
  file.pragma("journal_mode = WAL");
  file.pragma("synchronous = NORMAL");
  const store = file.prepare(
    `INSERT INTO celery_taskmeta (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO UPDATE SET ${update} ${guard}`,
  );
  const tx = file.transaction((n: number) => {
    const t = now();
    for (let i = 0; i < n; i++)
      store.run(
        randomUUID(),
        "SUCCESS",
        enc({ i, ok: true }),
        t,
        null,
        REQUEST.name,
        enc(REQUEST.args),
        enc(REQUEST.kwargs),
        REQUEST.worker,
        REQUEST.retries,
        REQUEST.queue,
        t,
      );
  });
  return { run: async (n) => void tx.immediate(n), close: async () => void file.close() };
}

async function concurrently(perCaller: number, store: (caller: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      for (let i = 0; i < perCaller; i++) await store(caller);
    }),
  );
}

async function measureWrites(ctx: BenchContext, side: Side, plain: DbHandle, off: DbHandle, on: DbHandle): Promise<void> {
  const { plan } = ctx;
  const pgSide = side.dialect === "postgresql";
  const poolSize = pgSide ? CALLERS : 1;
  const tlOff = await openBackend({ url: off.url, migrate: false, poolSize, resultExtended: true });
  const tlOn = await openBackend({ url: on.url, migrate: false, poolSize, resultExtended: true });
  const raws = await Promise.all(Array.from({ length: pgSide ? CALLERS : 1 }, () => openRaw(plain)));
  const batch = rawBatch(plain);
  try {
    const single = (b: DatabaseBackend) => (r: number) =>
      opsPerSecond(opsFor(r, plan.ops), async () => {
        for (let i = opsFor(r, plan.ops); i > 0; i--) await b.markAsDone(randomUUID(), PAYLOAD);
      });
    const singles: Contender[] = [
      { name: "taskledger markAsDone, history off", round: single(tlOff) },
      { name: "taskledger markAsDone, history on", round: single(tlOn) },
      {
        name: "raw driver plain upsert (no trigger, no NOTIFY)",
        round: (r) =>
          opsPerSecond(opsFor(r, plan.ops), async () => {
            for (let i = opsFor(r, plan.ops); i > 0; i--) await raws[0]!.store(randomUUID(), PAYLOAD);
          }),
      },
    ];
    const s = await interleave(plan.rounds, singles);
    printTable({
      title: `${side.label}: store one result, one caller (${plan.ops} per round)`,
      unit: "stores/s",
      better: "higher",
      reference: singles[0]!.name,
      rows: singles.map((c) => ({ name: c.name, values: s.get(c.name)! })),
    });
    const [sOff, sOn, sRaw] = singles.map((c) => median(s.get(c.name)!)) as [number, number, number];
    if (pgSide)
      ratioTarget(`store with triggers, ${side.label}`, "single store (history off) >= 0.85x raw plain upsert", sOff / sRaw, 0.85);
    else
      checkTarget(`store with triggers, ${side.label}`, "single store (history off) vs raw plain upsert", `${fmt(sOff / sRaw, 2)}x`, null);
    ratioTarget(`store with triggers, ${side.label}`, "single store, history on >= 0.7x history off", sOn / sOff, 0.7);

    const perCaller = (r: number) => Math.max(1, Math.floor(opsFor(r, plan.concurrentOps) / CALLERS));
    const conc = (b: DatabaseBackend) => (r: number) =>
      opsPerSecond(perCaller(r) * CALLERS, () => concurrently(perCaller(r), () => b.markAsDone(randomUUID(), PAYLOAD)));
    const concs: Contender[] = [
      { name: `taskledger, ${CALLERS} callers, history off`, round: conc(tlOff) },
      { name: `taskledger, ${CALLERS} callers, history on`, round: conc(tlOn) },
      {
        name: `raw driver plain upsert, ${CALLERS} callers${pgSide ? `, ${CALLERS} clients` : ", one connection"}`,
        round: (r) =>
          opsPerSecond(perCaller(r) * CALLERS, () =>
            concurrently(perCaller(r), (c) => raws[c % raws.length]!.store(randomUUID(), PAYLOAD)),
          ),
      },
    ];
    const c = await interleave(plan.rounds, concs);
    printTable({
      title: `${side.label}: ${CALLERS} concurrent callers (${plan.concurrentOps} stores per round)`,
      unit: "stores/s",
      better: "higher",
      reference: concs[0]!.name,
      rows: concs.map((x) => ({ name: x.name, values: c.get(x.name)! })),
    });
    const [cOff, cOn, cRaw] = concs.map((x) => median(c.get(x.name)!)) as [number, number, number];
    if (pgSide)
      ratioTarget(`concurrent with triggers, ${side.label}`, `${CALLERS} callers (history off) >= 0.8x raw plain upsert`, cOff / cRaw, 0.8);
    else
      checkTarget(
        `concurrent with triggers, ${side.label}`,
        `${CALLERS} callers (history off) vs raw plain upsert`,
        `${fmt(cOff / cRaw, 2)}x`,
        null,
      );
    ratioTarget(`concurrent with triggers, ${side.label}`, `${CALLERS} callers, history on >= 0.7x history off`, cOn / cOff, 0.7);

    const n = plan.batchSize;
    const items = () =>
      Array.from({ length: n }, (_, i) => ({ taskId: randomUUID(), status: states.SUCCESS, result: { i, ok: true }, request: REQUEST }));
    const many = (b: DatabaseBackend) => async (r: number) => {
      const batchItems = r < 0 ? items().slice(0, 500) : items();
      return opsPerSecond(batchItems.length, () => b.storeMany(batchItems));
    };
    const batches: Contender[] = [
      { name: "taskledger storeMany with request, history off", round: many(tlOff) },
      { name: "taskledger storeMany with request, history on", round: many(tlOn) },
      {
        name: pgSide
          ? "raw driver, unnest of the same columns (no trigger, no NOTIFY)"
          : "raw driver, prepared upsert of the same columns in one transaction",
        round: async (r) => {
          const k = r < 0 ? 500 : n;
          return opsPerSecond(k, () => batch.run(k));
        },
      },
    ];
    const b = await interleave(plan.rounds, batches);
    printTable({
      title: `${side.label}: batch of ${n.toLocaleString("en-US")} results with request metadata`,
      unit: "rows/s",
      better: "higher",
      reference: batches[0]!.name,
      rows: batches.map((x) => ({ name: x.name, values: b.get(x.name)! })),
    });
    const [bOff, bOn, bRaw] = batches.map((x) => median(b.get(x.name)!)) as [number, number, number];
    if (pgSide)
      ratioTarget(`batch with triggers, ${side.label}`, "10k batch with request (history off) >= 0.75x raw unnest", bOff / bRaw, 0.75);
    else checkTarget(`batch with triggers, ${side.label}`, "10k batch with request (history off) vs raw", `${fmt(bOff / bRaw, 2)}x`, null);
    ratioTarget(`batch with triggers, ${side.label}`, "10k batch, history on >= 0.7x history off", bOn / bOff, 0.7);
  } finally {
    await tlOff.close();
    await tlOn.close();
    await Promise.all(raws.map((r) => r.close()));
    await batch.close();
  }
}

/** Delay from a writer's commit returning to a Node get() returning, writer in another process. */
async function measureWakeups(ctx: BenchContext, side: Side, on: DbHandle): Promise<void> {
  const samples = ctx.plan.wakeSamples;
  const backend = await openBackend({ url: on.url, migrate: false });
  const writer = new NodeChild("wakeup-writer.ts", [on.url]);
  const celery = side.celery ? await CeleryProcess.start(on.celeryUrl) : undefined;
  const sample = async (commit: (id: string) => Promise<number>): Promise<number> => {
    const id = randomUUID();
    let woke = 0;
    // The default 500 ms re-read interval: only a pushed wake-up makes the delay small.
    const waiting = new AsyncResult(id, backend).get({ timeout: 10_000 }).then(() => (woke = performance.timeOrigin + performance.now()));
    while (backend.waiterCount === 0) await new Promise((resolve) => setImmediate(resolve));
    await sleep(5 + Math.random() * 10); // the waiter has registered its id and read: it waits
    const committed = await commit(id);
    await waiting;
    return woke - committed;
  };
  try {
    if ((await writer.next()) !== "ready") throw new Error("the wake-up writer did not start");
    await celery?.call({ op: "prepare", mode: "pooled" });
    const byTaskledger = async (id: string) => {
      writer.send(id);
      return Number((await writer.next()).split(" ")[1]);
    };
    const byCelery = async (id: string) => Number((await celery!.call({ op: "store_one", id, mode: "pooled" }))["committed"]);
    for (let i = 0; i < 5; i++) await sample(byTaskledger);
    const tl: number[] = [];
    const cel: number[] = [];
    for (let i = 0; i < samples; i++) {
      tl.push(await sample(byTaskledger));
      if (celery) cel.push(await sample(byCelery));
    }
    const how = side.dialect === "postgresql" ? "notify trigger, registered interest" : "PRAGMA data_version every 5 ms";
    out.print(`\n#### ${side.label}: wake-up delay after another process's commit (${how})\n`);
    out.print("| writer | p50 | p95 | max | samples |");
    out.print("|---|---|---|---|---|");
    const t = summarize(tl);
    out.print(`| taskledger markAsDone | ${fmt(t.median, 2)} ms | ${fmt(t.p95, 2)} ms | ${fmt(t.max, 2)} ms | ${t.n} |`);
    const pgSide = side.dialect === "postgresql";
    checkTarget(
      `wake-up by trigger, ${side.label}`,
      pgSide ? "after a taskledger commit p50 <= 5 ms, p95 <= 20 ms" : "after a taskledger commit",
      `p50 ${fmt(t.median, 2)} ms, p95 ${fmt(t.p95, 2)} ms`,
      pgSide ? t.median <= 5 && t.p95 <= 20 : null,
    );
    if (cel.length > 0) {
      const c = summarize(cel);
      out.print(`| Celery 5.2 mark_as_done | ${fmt(c.median, 2)} ms | ${fmt(c.p95, 2)} ms | ${fmt(c.max, 2)} ms | ${c.n} |`);
      checkTarget(
        `wake-up by trigger, ${side.label}`,
        pgSide ? "after a Celery 5.2 commit p50 <= 20 ms" : "after a Celery 5.2 commit",
        `p50 ${fmt(c.median, 2)} ms, p95 ${fmt(c.p95, 2)} ms`,
        pgSide ? c.median <= 20 : null,
      );
    }
  } finally {
    await writer.close();
    await celery?.close();
    await backend.close();
  }
}

export const triggers: Scenario = {
  name: "triggers",
  title:
    "Waking and history by triggers: cost against the raw plain upsert, history off and on; wake-ups after taskledger's and Celery's commits",
  async run(ctx: BenchContext) {
    for (const side of ctx.sides) {
      const plain = await emptyDatabase(side.dialect, "taskledger", "plain");
      const off = await emptyDatabase(side.dialect, "taskledger", "hoff");
      const on = await emptyDatabase(side.dialect, "taskledger", "hon");
      try {
        await dropTriggers(plain);
        await (await openBackend({ url: off.url, history: false })).close();
        await measureWrites(ctx, side, plain, off, on);
        await measureWakeups(ctx, side, on);
      } finally {
        await Promise.all([plain.drop(), off.drop(), on.drop()]);
      }
    }
  },
};
