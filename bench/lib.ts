/**
 * Shared bench plumbing: fresh databases, interleaved rounds (A B A B ...) so a noisy machine
 * hurts every contender alike, and the statistics we print. Figures are ratios within one run.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const PG_ADMIN_URL = process.env["TASKLEDGER_BENCH_PG_URL"] ?? process.env["TASKLEDGER_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function freshPg(label: string): Promise<BenchDatabase> {
  const name = `tl_bench_${label}_${randomBytes(3).toString("hex")}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export function freshSqlite(label: string): BenchDatabase & { file: string } {
  const dir = mkdtempSync(join(tmpdir(), `taskledger-bench-${label}-`));
  const file = join(dir, "bench.db");
  return { file, url: `sqlite:${file}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(values: number[]): { median: number; min: number; max: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), min: sorted[0]!, max: sorted[sorted.length - 1]!, p95: quantile(sorted, 0.95) };
}

export interface Contender {
  name: string;
  /** Runs one round and returns operations per second. */
  round: (roundIndex: number) => Promise<number>;
}

/** Runs the contenders' rounds interleaved and returns each one's ops/s per round. */
export async function interleave(rounds: number, contenders: Contender[]): Promise<Map<string, number[]>> {
  const results = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) results.get(c.name)!.push(await c.round(r));
  }
  return results;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** One table row: name, median (min-max), and the ratio of medians against a baseline. */
export function row(name: string, values: number[], baseline?: number[], unit = "ops/s"): string {
  const s = summarize(values);
  const ratio = baseline ? ` | ${(s.median / summarize(baseline).median).toFixed(2)}x` : " | 1.00x";
  return `| ${name} | ${fmt(s.median)} ${unit} | ${fmt(s.min)}–${fmt(s.max)}${ratio} |`;
}

export async function timed(ops: number, body: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await body();
  return (ops * 1000) / (performance.now() - started);
}
