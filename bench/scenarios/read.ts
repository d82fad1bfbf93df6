/**
 * Reading results: one task's meta, 1,000 tasks' meta, and joining a group of 1,000 ready
 * results. taskledger and the raw driver read the same rows of taskledger's database; Celery
 * reads the same number of its own rows.
 */
import { randomUUID } from "node:crypto";
import { GroupResult, states, type DatabaseBackend } from "../../src/index.js";
import { checkTarget, fmtAuto, interleave, median, medianOf, opsPerSecond, printTable, ratioTarget, type Contender } from "../lib.js";
import { spyDriver } from "../../test/helpers/driver-spy.js";
import { forEachSide, opsFor, PAYLOAD, type BenchContext, type Scenario, type Side } from "../scenario.js";

interface Seeded {
  ids: string[];
  celeryIds: string[];
}
const seededSets = new Map<string, Promise<Seeded>>();

/**
 * `n` SUCCESS results in taskledger's database and `celeryN` in Celery's (stored once per run and
 * shared by the read scenarios: seeding Celery is slow); returns their ids.
 */
function seed(side: Side, backend: DatabaseBackend, n: number, celeryN = n): Promise<Seeded> {
  const key = `${side.dialect}:${n}:${celeryN}`;
  let seeded = seededSets.get(key);
  if (!seeded) {
    seeded = (async () => {
      const ids = Array.from({ length: n }, () => randomUUID());
      await backend.storeMany(ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: PAYLOAD })));
      const celeryIds = Array.from({ length: side.celery ? celeryN : 0 }, () => randomUUID());
      if (side.celery) await side.celery.call({ op: "seed", ids: celeryIds });
      return { ids, celeryIds };
    })();
    seededSets.set(key, seeded);
  }
  return seeded;
}

export const readOne: Scenario = {
  name: "read",
  title: "Read one task's meta",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    await forEachSide(ctx, { poolSize: 1 }, async (side, backend, raw) => {
      const { ids, celeryIds } = await seed(side, backend, plan.ops, plan.celeryPooledOps);
      const reads = (r: number) => ids.slice(0, opsFor(r, ids.length));
      const contenders: Contender[] = [
        {
          name: "taskledger getTaskMeta",
          round: (r) =>
            opsPerSecond(reads(r).length, async () => {
              for (const id of reads(r)) await backend.getTaskMeta(id);
            }),
        },
        {
          name: "raw driver SELECT by task_id",
          round: (r) =>
            opsPerSecond(reads(r).length, async () => {
              for (const id of reads(r)) await raw.read(id);
            }),
        },
      ];
      if (side.celery) {
        contenders.push(
          {
            name: "Celery get_task_meta, pooled",
            round: (r) => side.celery!.opsPerSecond({ op: "read", ids: celeryIds.slice(0, opsFor(r, celeryIds.length)), mode: "pooled" }),
          },
          {
            name: "Celery get_task_meta, client mode",
            round: (r) =>
              side.celery!.opsPerSecond({ op: "read", ids: celeryIds.slice(0, opsFor(r, plan.celeryClientOps)), mode: "client" }),
          },
        );
      }
      const results = await interleave(plan.rounds, contenders);
      printTable({
        title: `${side.label}: read one task's meta by id, one connection (${plan.ops} reads per round; Celery pooled ${plan.celeryPooledOps}, client ${plan.celeryClientOps})`,
        unit: "reads/s",
        better: "higher",
        reference: "taskledger getTaskMeta",
        rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
      });
      const tl = median(results.get("taskledger getTaskMeta")!);
      const minRaw = side.dialect === "postgresql" ? 0.8 : 0.7;
      ratioTarget(
        `read, ${side.label}`,
        `single read >= ${minRaw}x raw driver`,
        tl / median(results.get("raw driver SELECT by task_id")!),
        minRaw,
      );
      ratioTarget(`read, ${side.label}`, "single read >= 1.5x Celery pooled", tl / medianOf(results, contenders[2]?.name), 1.5);
      ratioTarget(`read, ${side.label}`, "single read >= 20x Celery client mode", tl / medianOf(results, contenders[3]?.name), 20);
    });
  },
};

export const readMany: Scenario = {
  name: "read-many",
  title: "Read 1,000 tasks' meta",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    const n = plan.manySize;
    await forEachSide(ctx, { poolSize: 1 }, async (side, backend, raw) => {
      const { ids, celeryIds } = await seed(side, backend, n);
      const contenders: Contender[] = [
        { name: "taskledger getManyTaskMeta (one query)", round: () => opsPerSecond(n, () => backend.getManyTaskMeta(ids)) },
        { name: "raw driver, one query", round: () => opsPerSecond(n, () => raw.readMany(ids)) },
      ];
      if (side.celery)
        contenders.push({
          name: "Celery get_task_meta per task, pooled",
          round: (r) => side.celery!.opsPerSecond({ op: "read", ids: celeryIds.slice(0, opsFor(r, n)), mode: "pooled" }),
        });
      const results = await interleave(plan.rounds, contenders);
      printTable({
        title: `${side.label}: read ${n.toLocaleString("en-US")} tasks' meta`,
        unit: "tasks/s",
        better: "higher",
        reference: contenders[0]!.name,
        rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
      });
    });
  },
};

export const joinGroup: Scenario = {
  name: "join",
  title: "Join a group of 1,000 ready results",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    const n = plan.manySize;
    // Count the statements join() sends, at the driver seam (every read goes through it).
    const spy = spyDriver();
    const readCount = () => spy.calls.taskGet + spy.calls.taskGetMany + spy.calls.taskExists;
    await forEachSide(ctx, { poolSize: 1, over: spy.over }, async (side, backend, raw) => {
      const { ids, celeryIds } = await seed(side, backend, n);
      const queriesPerJoin: number[] = [];
      const msPerJoin = async (body: () => Promise<unknown>) => {
        const started = performance.now();
        await body();
        return performance.now() - started;
      };
      const contenders: Contender[] = [
        {
          name: "taskledger GroupResult.join",
          round: (r) =>
            msPerJoin(async () => {
              const before = readCount();
              const values = await new GroupResult(`join-${r}-${randomUUID()}`, ids, backend).join({ timeout: 60_000 });
              if (values.length !== n) throw new Error("join returned the wrong number of values");
              queriesPerJoin.push(readCount() - before);
            }),
        },
        {
          name: "raw driver, one = ANY / IN query",
          round: () =>
            msPerJoin(async () => {
              const rows = await raw.readMany(ids);
              const values = ids.map((id) => rows.get(id));
              if (values.length !== n) throw new Error("wrong count");
            }),
        },
      ];
      if (side.celery) {
        contenders.push({
          name: "Celery ResultSet.join, pooled",
          round: async () => (await side.celery!.call({ op: "join", ids: celeryIds, mode: "pooled" }))["ms"] as number,
        });
      }
      const results = await interleave(plan.rounds, contenders);
      const queries = Math.max(...queriesPerJoin);
      printTable({
        title: `${side.label}: join a group of ${n.toLocaleString("en-US")} ready results`,
        unit: "ms",
        better: "lower",
        reference: contenders[0]!.name,
        rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
        notes: [
          `taskledger sent ${queries} read statement(s) per join (counted at the driver)${side.celery ? `; Celery's join reads each member with its own query (${n.toLocaleString("en-US")})` : ""}.`,
        ],
      });
      checkTarget(`join, ${side.label}`, "join of 1,000: one query per poll", `${queries} per join`, queries === 1);
      const ratio = median(results.get(contenders[1]!.name)!) / median(results.get(contenders[0]!.name)!);
      checkTarget(
        `join, ${side.label}`,
        "join of 1,000 within 2x of raw IN query",
        `${fmtAuto(median(results.get(contenders[0]!.name)!))} ms vs ${fmtAuto(median(results.get(contenders[1]!.name)!))} ms (${fmtAuto(1 / ratio)}x raw's time)`,
        ratio >= 0.5,
      );
    });
  },
};
