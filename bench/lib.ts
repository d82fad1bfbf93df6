/**
 * Shared bench plumbing: interleaved rounds (A B, B A, A B, ...) so a noisy machine hurts every
 * contender alike, the statistics we print, the markdown tables, and the targets the final summary
 * checks. Every figure is a ratio within one run (DESIGN.md section 6).
 */
import { writeFileSync } from "node:fs";

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  p95: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  // The median of an even count is the mean of the middle two.
  const mid = sorted.length / 2;
  const median =
    sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    median,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    p95: quantile(sorted, 0.95),
    n: sorted.length,
  };
}

export interface Contender {
  name: string;
  /** Runs one round and returns its figure (ops/s, rows/s, or ms: the scenario says which). */
  round: (roundIndex: number) => Promise<number>;
}

/**
 * Runs every contender once untimed (warm-up: JIT, prepared statements, pools, caches), then
 * `rounds` timed rounds, the order reversed every other round: A B C, C B A, A B C, ...
 */
export async function interleave(
  rounds: number,
  contenders: readonly Contender[],
  options: { warmup?: boolean } = {},
): Promise<Map<string, number[]>> {
  if (options.warmup !== false) for (const c of contenders) await c.round(-1);
  const results = new Map(contenders.map((c) => [c.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) results.get(c.name)!.push(await c.round(r));
  }
  return results;
}

/** Runs `body` and returns operations per second. */
export async function opsPerSecond(ops: number, body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return (ops * 1000) / (performance.now() - started);
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Significant-ish digits: 0.0123, 1.23, 12.3, 1,234. */
export function fmtAuto(n: number): string {
  if (!Number.isFinite(n)) return "n/a";
  const a = Math.abs(n);
  return fmt(n, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return "n/a";
  return `${r >= 100 ? fmt(r, 0) : r >= 10 ? fmt(r, 1) : fmt(r, 2)}x`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Everything printed goes through here, so the whole run can also be written to a file. */
class Output {
  private readonly lines: string[] = [];

  print(text = ""): void {
    process.stdout.write(`${text}\n`);
    this.lines.push(text);
  }

  /** Progress chatter: stderr only, never part of the report. */
  progress(text: string): void {
    process.stderr.write(`  · ${text}\n`);
  }

  save(file: string): void {
    writeFileSync(file, `${this.lines.join("\n")}\n`);
  }
}

export const out = new Output();

export type Better = "higher" | "lower";

export interface Row {
  name: string;
  values: number[];
  /** Extra cells after median and min–max (for example p95, a stall, an error count). */
  extra?: string[];
}

/**
 * Prints one scenario table: median, min–max over rounds, and taskledger's ratio against each
 * row, oriented so that above 1 means taskledger is faster (higher throughput or lower latency).
 */
export function printTable(options: {
  title: string;
  unit: string;
  better: Better;
  rows: Row[];
  reference: string;
  extraHeaders?: string[];
  notes?: string[];
  /** Replaces the last column (header and cell), for tables whose comparison is not "taskledger vs this row". */
  ratioColumn?: { header: string; cell: (row: Row) => string };
}): void {
  const ref = options.rows.find((r) => r.name === options.reference);
  const refMedian = ref ? summarize(ref.values).median : Number.NaN;
  const extra = options.extraHeaders ?? [];
  out.print(`\n#### ${options.title}\n`);
  out.print(
    `| contender | median | min–max | ${extra.map((h) => `${h} | `).join("")}${options.ratioColumn?.header ?? "taskledger vs this"} |`,
  );
  out.print(`|---|---|---|${extra.map(() => "---|").join("")}---|`);
  for (const row of options.rows) {
    const s = summarize(row.values);
    const ratio = options.better === "higher" ? refMedian / s.median : s.median / refMedian;
    const cells = [
      row.name,
      `${fmtAuto(s.median)} ${options.unit}`,
      s.n > 1 ? `${fmtAuto(s.min)}–${fmtAuto(s.max)}` : "(1 round)",
      ...(row.extra ?? []),
      options.ratioColumn ? options.ratioColumn.cell(row) : row.name === options.reference ? "—" : fmtRatio(ratio),
    ];
    out.print(`| ${cells.join(" | ")} |`);
  }
  for (const note of options.notes ?? []) out.print(`\n${note}`);
}

export function median(values: readonly number[]): number {
  return summarize(values).median;
}

export interface TargetResult {
  scenario: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** The issue's targets, filled in by the scenarios as they measure. */
export const targets: TargetResult[] = [];

export function checkTarget(scenario: string, target: string, measured: string, met: boolean | null): void {
  targets.push({ scenario, target, measured, met });
}

/** A ratio against its minimum; NaN (a baseline that did not run, e.g. --no-celery) is "not measured". */
export function ratioTarget(scenario: string, target: string, ratio: number, minimum: number): void {
  if (!Number.isFinite(ratio)) checkTarget(scenario, target, "baseline not run", null);
  else checkTarget(scenario, target, fmtRatio(ratio), ratio >= minimum);
}

/** The median of a contender's rounds, or NaN when it did not run. */
export function medianOf(results: Map<string, number[]>, name: string | undefined): number {
  const values = name === undefined ? undefined : results.get(name);
  return values ? median(values) : Number.NaN;
}

export function printTargets(): void {
  out.print("\n## Targets\n");
  out.print("| scenario | target | measured | result |");
  out.print("|---|---|---|---|");
  for (const t of targets)
    out.print(`| ${t.scenario} | ${t.target} | ${t.measured} | ${t.met === null ? "not measured" : t.met ? "met" : "**missed**"} |`);
  const met = targets.filter((t) => t.met === true).length;
  const missed = targets.filter((t) => t.met === false).length;
  out.print(`\n${met} met, ${missed} missed, ${targets.length - met - missed} not measured.`);
}

/** A numeric command-line option `--name N`, or `fallback` when it is not given. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
