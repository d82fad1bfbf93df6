/**
 * Storing through the application's own connection against taskledger's own: one caller
 * on one connection, and eight concurrent callers. On PostgreSQL the application's pg.Pool
 * checks a client out and back per query, which taskledger's lean ClientPool skips
 * (src/db/pg/client-pool.ts); the target is that this costs at most 10%.
 */
import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { interleave, median, opsPerSecond, printTable, ratioTarget, type Contender } from "../lib.js";
import { opsFor, PAYLOAD, type BenchContext, type Scenario } from "../scenario.js";

const CALLERS = 8;

async function storeLoop(backend: DatabaseBackend, callers: number, total: number): Promise<void> {
  const perCaller = Math.max(1, Math.floor(total / callers));
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < perCaller; i++) await backend.markAsDone(randomUUID(), PAYLOAD);
    }),
  );
}

export const appPool: Scenario = {
  name: "app-pool",
  title: "Store through the application's own pool or Database vs taskledger's own connection",
  async run(ctx: BenchContext) {
    const { plan } = ctx;
    for (const side of ctx.sides) {
      const pgSide = side.dialect === "postgresql";
      for (const callers of [1, CALLERS]) {
        const size = pgSide ? callers : 1;
        const own = await openBackend({ url: side.tl.url, migrate: false, poolSize: size });
        const appPool = pgSide ? new pg.Pool({ connectionString: side.tl.url, max: size }) : undefined;
        const appDb = pgSide ? undefined : new Database(side.tl.file!);
        if (appDb) appDb.pragma("synchronous = NORMAL"); // the file is already in WAL mode
        const app = await openBackend({ client: (appPool ?? appDb)!, migrate: false });
        try {
          const ops = callers === 1 ? plan.ops : plan.concurrentOps;
          const ownName = `taskledger's own ${pgSide ? `pool (${size})` : "connection"}`;
          const appName = `application's ${pgSide ? `pg.Pool (max ${size})` : "better-sqlite3 Database"}`;
          const contenders: Contender[] = [
            { name: ownName, round: (r) => opsPerSecond(opsFor(r, ops), () => storeLoop(own, callers, opsFor(r, ops))) },
            { name: appName, round: (r) => opsPerSecond(opsFor(r, ops), () => storeLoop(app, callers, opsFor(r, ops))) },
          ];
          const results = await interleave(plan.rounds, contenders);
          printTable({
            title: `${side.label}: markAsDone, ${callers} caller${callers > 1 ? "s" : ""} (${ops} stores per round)`,
            unit: "stores/s",
            better: "higher",
            reference: ownName,
            rows: contenders.map((c) => ({ name: c.name, values: results.get(c.name)! })),
          });
          ratioTarget(
            `app-pool, ${side.label}`,
            `${callers} caller(s): application's connection >= 0.9x taskledger's own`,
            median(results.get(appName)!) / median(results.get(ownName)!),
            0.9,
          );
        } finally {
          await app.close();
          await own.close();
          await appPool?.end();
          appDb?.close();
        }
      }
    }
  },
};
