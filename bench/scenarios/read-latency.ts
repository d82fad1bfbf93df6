/**
 * Read latency as the table grows: getTaskMeta of random existing ids in a 10k-row table and in a
 * 10M-row table (1M in quick mode), rounds interleaved, every read timed on its own. The raw
 * driver's SELECT on the same tables shows how much of any growth is the database's own.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { openBackend } from "../../src/index.js";
import { checkTarget, fmt, fmtAuto, fmtRatio, interleave, median, out, printTable, summarize } from "../lib.js";
import { openRaw, type BenchContext, type Scenario } from "../scenario.js";
import type { DbHandle } from "../fixtures.js";

/** `n` random existing task ids (ids run from 1 to the row count in a filled template). */
async function sampleIds(db: DbHandle, rows: number, n: number): Promise<string[]> {
  const wanted = Array.from({ length: n }, () => 1 + Math.floor(Math.random() * rows));
  if (db.dialect === "postgresql") {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<{ task_id: string }>("SELECT task_id FROM celery_taskmeta WHERE id = ANY($1::int[])", [wanted])).rows.map(
        (r) => r.task_id,
      );
    } finally {
      await client.end();
    }
  }
  const sqlite = new Database(db.file!, { readonly: true });
  try {
    return sqlite
      .prepare("SELECT task_id FROM celery_taskmeta WHERE id IN (SELECT value FROM json_each(?))")
      .pluck()
      .all(JSON.stringify(wanted)) as string[];
  } finally {
    sqlite.close();
  }
}

export const readLatency: Scenario = {
  name: "read-latency",
  title: "Read latency at 10k rows and at 10M rows",
  templates: (ctx) =>
    ctx.sides.flatMap((side) => [
      { dialect: side.dialect, kind: "taskledger" as const, name: "small" as const },
      { dialect: side.dialect, kind: "taskledger" as const, name: "onePct" as const },
    ]),
  async run(ctx: BenchContext) {
    const { plan, fixtures } = ctx;
    const small = fixtures.shape("small");
    const big = fixtures.shape("onePct");
    const smallRows = small.live + small.expired;
    const bigRows = big.live + big.expired;
    for (const side of ctx.sides) {
      const smallDb = await fixtures.template(side.dialect, "taskledger", "small");
      const bigDb = await fixtures.template(side.dialect, "taskledger", "onePct");
      const tables = [
        { label: `${fmt(smallRows)} rows`, db: smallDb, ids: await sampleIds(smallDb, smallRows, plan.latencyReads) },
        { label: `${fmt(bigRows)} rows`, db: bigDb, ids: await sampleIds(bigDb, bigRows, plan.latencyReads) },
      ];
      const all = new Map<string, number[]>();
      const opened = await Promise.all(
        tables.map(async (t) => ({
          ...t,
          backend: await openBackend({ url: t.db.url, poolSize: 1, migrate: false }),
          raw: await openRaw(t.db),
        })),
      );
      try {
        const contenders = opened
          .flatMap((t) => [
            { name: `taskledger getTaskMeta, ${t.label}`, read: (id: string) => t.backend.getTaskMeta(id), ids: t.ids },
            { name: `raw driver SELECT, ${t.label}`, read: (id: string) => t.raw.read(id), ids: t.ids },
          ])
          .map((c) => ({
            name: c.name,
            round: async (r: number) => {
              const latencies: number[] = [];
              for (const id of r < 0 ? c.ids.slice(0, 50) : c.ids) {
                const started = performance.now();
                await c.read(id);
                latencies.push(performance.now() - started);
              }
              if (r >= 0) all.set(c.name, [...(all.get(c.name) ?? []), ...latencies]);
              return median(latencies) * 1000;
            },
          }));
        const results = await interleave(plan.rounds, contenders);
        printTable({
          title: `${side.label}: read latency by table size (${plan.latencyReads} random existing ids per round; median of each round's median, in µs)`,
          unit: "µs",
          better: "lower",
          reference: contenders[0]!.name,
          extraHeaders: ["p95 over all reads"],
          rows: contenders.map((c) => ({
            name: c.name,
            values: results.get(c.name)!,
            extra: [`${fmtAuto(summarize(all.get(c.name)!).p95 * 1000)} µs`],
          })),
          ratioColumn: {
            header: `latency vs the same reader at ${tables[0]!.label}`,
            cell: (row) => {
              const small = row.name.replace(tables[1]!.label, tables[0]!.label);
              return small === row.name ? "—" : fmtRatio(median(row.values) / median(results.get(small)!));
            },
          },
        });
        const growth = (prefix: string) =>
          median(results.get(`${prefix}, ${tables[1]!.label}`)!) / median(results.get(`${prefix}, ${tables[0]!.label}`)!);
        out.print(
          `\nGrowth from ${tables[0]!.label} to ${tables[1]!.label}: taskledger ${fmt(growth("taskledger getTaskMeta"), 2)}x, raw driver ${fmt(growth("raw driver SELECT"), 2)}x.`,
        );
        const g = growth("taskledger getTaskMeta");
        checkTarget(
          `read latency, ${side.label}`,
          `read latency at ${tables[1]!.label} within 1.5x of ${tables[0]!.label}`,
          `${fmt(g, 2)}x`,
          g <= 1.5,
        );
      } finally {
        for (const t of opened) {
          await t.backend.close();
          await t.raw.close();
        }
      }
    }
  },
};
