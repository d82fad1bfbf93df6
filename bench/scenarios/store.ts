/**
 * Writing results: one store at a time on one connection, eight concurrent callers in one
 * process, and a batch of 10,000.
 */
import { randomUUID } from "node:crypto";
import { openBackend, states } from "../../src/index.js";
import { interleave, median, medianOf, opsPerSecond, printTable, ratioTarget, type Contender } from "../lib.js";
import { forEachSide, openRaw, opsFor, PAYLOAD, type BenchContext, type Scenario, type Side } from "../scenario.js";

function celeryStore(side: Side, mode: "pooled" | "client", ops: number): Contender {
  return {
    name: mode === "pooled" ? "Celery mark_as_done, pooled (worker mode)" : "Celery mark_as_done, client mode",
    round: (r) => side.celery!.opsPerSecond({ op: "store", n: opsFor(r, ops), mode }),
  };
}

export const storeOne: Scenario = {
  name: "store",
  title: "Store one result (one upsert), one caller, one connection",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    await forEachSide(ctx, { poolSize: 1 }, async (side, backend, raw) => {
      const contenders: Contender[] = [
        {
          name: "taskledger markAsDone",
          round: (r) =>
            opsPerSecond(opsFor(r, plan.ops), async () => {
              for (let i = opsFor(r, plan.ops); i > 0; i--) await backend.markAsDone(randomUUID(), PAYLOAD);
            }),
        },
        {
          name: "raw driver upsert",
          round: (r) =>
            opsPerSecond(opsFor(r, plan.ops), async () => {
              for (let i = opsFor(r, plan.ops); i > 0; i--) await raw.store(randomUUID(), PAYLOAD);
            }),
        },
      ];
      if (side.celery)
        contenders.push(celeryStore(side, "pooled", plan.celeryPooledOps), celeryStore(side, "client", plan.celeryClientOps));
      if (raw.storeExact) {
        contenders.push({
          name: "raw driver, taskledger's statement (CTE)",
          round: (r) =>
            opsPerSecond(opsFor(r, plan.ops), async () => {
              for (let i = opsFor(r, plan.ops); i > 0; i--) await raw.storeExact!(randomUUID(), PAYLOAD);
            }),
        });
      }
      const results = await interleave(plan.rounds, contenders);
      printTable({
        title: `${side.label}: store one result, one connection (${plan.ops} stores per round; Celery pooled ${plan.celeryPooledOps}, client ${plan.celeryClientOps})`,
        unit: "stores/s",
        better: "higher",
        reference: "taskledger markAsDone",
        rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
      });
      const tl = median(results.get("taskledger markAsDone")!);
      const minRaw = side.dialect === "postgresql" ? 0.8 : 0.7;
      ratioTarget(`store, ${side.label}`, `single store >= ${minRaw}x raw driver`, tl / median(results.get("raw driver upsert")!), minRaw);
      ratioTarget(
        `store, ${side.label}`,
        "single store >= 3x Celery pooled",
        tl / medianOf(results, "Celery mark_as_done, pooled (worker mode)"),
        3,
      );
      ratioTarget(
        `store, ${side.label}`,
        "single store >= 20x Celery client mode",
        tl / medianOf(results, "Celery mark_as_done, client mode"),
        20,
      );
    });
  },
};

const CALLERS = 8;

/** `callers` loops, each storing `perCaller` results back to back, all at once. */
async function concurrently(callers: number, perCaller: number, store: (caller: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let i = 0; i < perCaller; i++) await store(caller);
    }),
  );
}

export const storeConcurrent: Scenario = {
  name: "concurrent",
  title: `Store with ${CALLERS} concurrent callers in one process`,
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    for (const side of ctx.sides) {
      const pgSide = side.dialect === "postgresql";
      const backend = await openBackend({ url: side.tl.url, poolSize: CALLERS, migrate: false });
      // PostgreSQL: one client per caller; SQLite: one connection (better-sqlite3 is synchronous, one writer at a time anyway).
      const raws = await Promise.all(Array.from({ length: pgSide ? CALLERS : 1 }, () => openRaw(side.tl)));
      try {
        const perCaller = (r: number) => Math.max(1, Math.floor(opsFor(r, plan.concurrentOps) / CALLERS));
        const contenders: Contender[] = [
          {
            name: `taskledger, ${CALLERS} callers${pgSide ? `, poolSize ${CALLERS}` : ""}`,
            round: (r) =>
              opsPerSecond(perCaller(r) * CALLERS, () =>
                concurrently(CALLERS, perCaller(r), () => backend.markAsDone(randomUUID(), PAYLOAD)),
              ),
          },
          {
            name: `raw driver, ${CALLERS} callers${pgSide ? `, ${CALLERS} clients` : ", one connection"}`,
            round: (r) =>
              opsPerSecond(perCaller(r) * CALLERS, () =>
                concurrently(CALLERS, perCaller(r), (c) => raws[c % raws.length]!.store(randomUUID(), PAYLOAD)),
              ),
          },
        ];
        if (side.celery) {
          contenders.push(
            {
              name: "Celery pooled, one process, sequential",
              round: (r) => side.celery!.opsPerSecond({ op: "store", n: opsFor(r, plan.celeryPooledOps), mode: "pooled" }),
            },
            {
              name: `Celery pooled, one process, ${CALLERS} threads`,
              round: (r) =>
                side.celery!.opsPerSecond({
                  op: "store_threads",
                  n: opsFor(r, plan.celeryPooledOps * 2),
                  threads: CALLERS,
                  mode: "pooled",
                }),
            },
          );
        }
        const results = await interleave(plan.rounds, contenders);
        printTable({
          title: `${side.label}: store with ${CALLERS} concurrent callers (${plan.concurrentOps} stores per round)`,
          unit: "stores/s",
          better: "higher",
          reference: contenders[0]!.name,
          rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
          notes: pgSide ? [] : ["SQLite has one writer at a time; the callers interleave on one connection."],
        });
        const tl = median(results.get(contenders[0]!.name)!);
        ratioTarget(
          `concurrent, ${side.label}`,
          `${CALLERS} concurrent callers >= 4x Celery pooled single process`,
          tl / medianOf(results, contenders[2]?.name),
          4,
        );
      } finally {
        await backend.close();
        await Promise.all(raws.map((r) => r.close()));
      }
    }
  },
};

export const storeBatch: Scenario = {
  name: "batch",
  title: "Batch store of 10,000 results",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    await forEachSide(ctx, {}, async (side, backend, raw) => {
      const n = plan.batchSize;
      const items = (r: number) =>
        Array.from({ length: opsFor(r, n) === n ? n : 500 }, (_, i) => ({ taskId: randomUUID(), value: { i, ok: true } }));
      const contenders: Contender[] = [
        {
          name: "taskledger storeMany",
          round: async (r) => {
            const batch = items(r).map((it) => ({ taskId: it.taskId, status: states.SUCCESS, result: it.value }));
            return opsPerSecond(batch.length, () => backend.storeMany(batch));
          },
        },
        {
          name:
            side.dialect === "postgresql"
              ? "raw driver, one INSERT … SELECT FROM unnest(arrays) upsert"
              : "raw driver, prepared upsert in one transaction",
          round: async (r) => {
            const batch = items(r);
            return opsPerSecond(batch.length, () => raw.storeMany(batch));
          },
        },
      ];
      if (side.celery)
        contenders.push({
          name: "Celery pooled, one mark_as_done per result",
          round: (r) => side.celery!.opsPerSecond({ op: "store", n: opsFor(r, plan.celeryPooledOps), mode: "pooled" }),
        });
      if (raw.storeManyExact) {
        contenders.push({
          name: "raw driver, taskledger's statement (15 arrays)",
          round: async (r) => {
            const batch = items(r);
            return opsPerSecond(batch.length, () => raw.storeManyExact!(batch));
          },
        });
      }
      const results = await interleave(plan.rounds, contenders);
      printTable({
        title: `${side.label}: batch store of ${n.toLocaleString("en-US")} results (Celery has no batch call: ${plan.celeryPooledOps} single stores per round)`,
        unit: "rows/s",
        better: "higher",
        reference: "taskledger storeMany",
        rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
      });
      ratioTarget(
        `batch, ${side.label}`,
        "batch store >= 0.7x raw best form",
        median(results.get("taskledger storeMany")!) / median(results.get(contenders[1]!.name)!),
        0.7,
      );
    });
  },
};
