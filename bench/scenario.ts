/** What every scenario gets: the run's plan (sizes by mode), one Side per dialect, the fixtures. */
import type { DatabaseBackend } from "../src/index.js";
import { openBackendOver } from "../src/backend/open-backend.js";
import type { Driver } from "../src/db/driver.js";
import type { CeleryProcess } from "./celery.js";
import type { DbHandle, Dialect, Fixtures, TemplateSpec } from "./fixtures.js";
import { rawPg, rawSqlite, type RawDriver } from "./raw.js";

/** The value every single store writes (the store scenarios' payload, ~120 bytes as JSON). */
export const PAYLOAD = { n: 1, payload: "x".repeat(100) };

export interface Plan {
  /** Timed rounds per contender (after one untimed warm-up round). */
  rounds: number;
  /** Operations per round for taskledger and the raw driver. */
  ops: number;
  /** Operations per round for Celery in pooled (worker) mode and in client mode. */
  celeryPooledOps: number;
  celeryClientOps: number;
  /** Stores per round with 8 concurrent callers (all callers together). */
  concurrentOps: number;
  batchSize: number;
  manySize: number;
  wakeSamples: number;
  celeryWakeSamples: number;
  latencyReads: number;
  cleanupRounds: { most: number; onePct: number };
}

export function makePlan(quick: boolean): Plan {
  return quick
    ? {
        rounds: 3,
        ops: 300,
        celeryPooledOps: 100,
        celeryClientOps: 20,
        concurrentOps: 800,
        batchSize: 10_000,
        manySize: 1_000,
        wakeSamples: 30,
        celeryWakeSamples: 8,
        latencyReads: 400,
        cleanupRounds: { most: 2, onePct: 1 },
      }
    : {
        rounds: 7,
        ops: 2_000,
        celeryPooledOps: 300,
        celeryClientOps: 60,
        concurrentOps: 4_000,
        batchSize: 10_000,
        manySize: 1_000,
        wakeSamples: 300,
        celeryWakeSamples: 40,
        latencyReads: 2_000,
        cleanupRounds: { most: 3, onePct: 2 },
      };
}

/** One dialect's databases for the small scenarios. */
export interface Side {
  dialect: Dialect;
  label: string;
  /** taskledger's database (migrated), shared by the small scenarios; the raw driver uses it too. */
  tl: DbHandle;
  /** Celery's own database (tables created by Celery) and its long-lived process, unless --no-celery. */
  cel: DbHandle | undefined;
  celery: CeleryProcess | undefined;
}

/**
 * Runs `body` once per side (dialect) with a taskledger backend and a raw driver on that side's
 * taskledger database, and closes both afterwards.
 */
export async function forEachSide(
  ctx: BenchContext,
  /** `over` wraps each backend's driver (test/helpers/driver-spy.ts), to count its calls. */
  options: { poolSize?: number; over?: (driver: Driver) => Driver },
  body: (side: Side, backend: DatabaseBackend, raw: RawDriver) => Promise<void>,
): Promise<void> {
  for (const side of ctx.sides) {
    const backend = await openBackendOver(
      { url: side.tl.url, migrate: false, ...(options.poolSize ? { poolSize: options.poolSize } : {}) },
      options.over ?? ((driver) => driver),
    );
    const raw = await openRaw(side.tl);
    try {
      await body(side, backend, raw);
    } finally {
      await backend.close();
      await raw.close();
    }
  }
}

export function openRaw(db: DbHandle): Promise<RawDriver> {
  return db.dialect === "postgresql" ? rawPg(db.url) : Promise.resolve(rawSqlite(db.file!));
}

export interface BenchContext {
  plan: Plan;
  sides: Side[];
  fixtures: Fixtures;
}

export interface Scenario {
  name: string;
  title: string;
  /** Filled templates the scenario copies or reads; built before the first such scenario runs. */
  templates?: (ctx: BenchContext) => TemplateSpec[];
  run(ctx: BenchContext): Promise<void>;
}

/** Fewer operations for the untimed warm-up round (index -1). */
export function opsFor(round: number, ops: number): number {
  return round < 0 ? Math.min(ops, 50) : ops;
}
