/**
 * The benchmark harness: taskledger against the raw driver running the same SQL by hand (the
 * floor) and against Celery 5.2's DatabaseBackend on the same server (the peer), rounds
 * interleaved, medians with min–max, ratios, and the issue's targets checked at the end.
 *
 *   npm run bench -- [--quick] [--no-celery] [--only store,read,...] [--dialect pg|sqlite] [--out file.md]
 *
 * Scenarios: store, concurrent, batch, app-pool, read, read-many, join, wakeup, triggers, read-latency, cleanup, memory, web.
 * Each run works in its own databases (PostgreSQL tl_bench_<run>_*, SQLite files in a temp
 * directory) and drops them at the end. Progress goes to stderr; the report (markdown) to stdout.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { CeleryProcess, celeryUnavailable } from "./celery.js";
import { dropAll, pgAdminQuery, PG_ADMIN_URL } from "./databases.js";
import { DIALECT_LABEL, emptyDatabase, Fixtures, type Dialect } from "./fixtures.js";
import { fmt, out, printTargets } from "./lib.js";
import { makePlan, type BenchContext, type Scenario, type Side } from "./scenario.js";
import { appPool } from "./scenarios/app-pool.js";
import { cleanup } from "./scenarios/cleanup.js";
import { memory } from "./scenarios/memory.js";
import { readLatency } from "./scenarios/read-latency.js";
import { joinGroup, readMany, readOne } from "./scenarios/read.js";
import { storeBatch, storeConcurrent, storeOne } from "./scenarios/store.js";
import { triggers } from "./scenarios/triggers.js";
import { wakeup } from "./scenarios/wakeup.js";
import { web } from "./scenarios/web.js";

const SCENARIOS: Scenario[] = [
  storeOne,
  storeConcurrent,
  storeBatch,
  appPool,
  readOne,
  readMany,
  joinGroup,
  wakeup,
  triggers,
  readLatency,
  cleanup,
  memory,
  web,
];

interface Args {
  quick: boolean;
  celery: boolean;
  only: Set<string> | null;
  dialects: Dialect[];
  outFile: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, celery: true, only: null, dialects: ["postgresql", "sqlite"], outFile: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--quick") args.quick = true;
    else if (arg === "--no-celery") args.celery = false;
    else if (arg === "--only")
      args.only = new Set(
        value()
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      );
    else if (arg === "--dialect") {
      const d = value();
      args.dialects =
        d === "pg" || d === "postgresql"
          ? ["postgresql"]
          : d === "sqlite"
            ? ["sqlite"]
            : (() => {
                throw new Error(`--dialect pg|sqlite, not ${d}`);
              })();
    } else if (arg === "--out") args.outFile = value();
    else if (arg === "--help" || arg === "-h") {
      process.stdout.write(
        `npm run bench -- [--quick] [--no-celery] [--only ${SCENARIOS.map((s) => s.name).join(",")}] [--dialect pg|sqlite] [--out file.md]\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  for (const name of args.only ?? []) {
    if (!SCENARIOS.some((s) => s.name === name))
      throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
  return args;
}

function memTotal(): string {
  const match = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return match ? `${fmt(Number(match[1]) / 1024 / 1024, 1)} GiB` : `${fmt(totalmem() / 2 ** 30, 1)} GiB`;
}

function load(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(", ");
}

async function machine(args: Args, celeryInfo: Record<string, unknown> | undefined): Promise<void> {
  const settings = await pgAdminQuery<{ name: string; setting: string; unit: string | null }>(
    "SELECT name, setting, unit FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'max_wal_size') ORDER BY name",
  );
  const [{ version }] = (await pgAdminQuery<{ version: string }>("SELECT version()")) as [{ version: string }];
  const memory = new Database(":memory:");
  const sqliteVersion = (memory.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v;
  memory.close();
  const cpu = cpus();
  const host = new URL(PG_ADMIN_URL);
  out.print("## Machine and software\n");
  out.print(`- CPU: ${cpu.length} cores (${cpu[0]?.model.trim() ?? "unknown"}); memory ${memTotal()} (/proc/meminfo)`);
  out.print(`- Load average at start: ${load()}`);
  out.print(
    `- PostgreSQL: ${version.split(",")[0]} at ${host.host}; ${settings.map((s) => `${s.name}=${s.setting}${s.unit ? ` (${s.unit})` : ""}`).join(", ")}`,
  );
  out.print(`- SQLite ${sqliteVersion} via better-sqlite3; files in the OS temp directory, WAL, synchronous=NORMAL (taskledger's setting)`);
  out.print(`- Node ${process.version}`);
  if (celeryInfo)
    out.print(
      `- Celery ${String(celeryInfo["celery"])}, SQLAlchemy ${String(celeryInfo["sqlalchemy"])}, Python ${String(celeryInfo["python"])} (psycopg2; Python's SQLite ${String(celeryInfo["sqlite_library"] ?? "?")})`,
    );
  out.print(
    `- Mode: ${args.quick ? "quick (fewer rounds and operations; big tables scaled down by 10: 110k rows for cleanup-most, 1M for the 1% cleanup and read latency)" : "full"}`,
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  let celeryEnabled = args.celery;
  if (celeryEnabled) {
    const why = celeryUnavailable();
    if (why) {
      process.stderr.write(`Celery is not available (${why}); running without it.\n`);
      celeryEnabled = false;
    }
  }
  const selected = SCENARIOS.filter((s) => !args.only || args.only.has(s.name));
  out.print(`# taskledger benchmarks\n`);
  out.print(`Command: \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}\`\n`);

  const sides: Side[] = [];
  const processes: CeleryProcess[] = [];
  let celeryInfo: Record<string, unknown> | undefined;
  const interrupted = async () => {
    process.stderr.write("\ninterrupted: dropping the bench databases\n");
    await dropAll();
    process.exit(130);
  };
  process.once("SIGINT", () => void interrupted());
  process.once("SIGTERM", () => void interrupted());
  try {
    for (const dialect of args.dialects) {
      const tl = await emptyDatabase(dialect, "taskledger", "tl");
      const cel = celeryEnabled ? await emptyDatabase(dialect, "celery", "cel") : undefined;
      const celery = cel ? await CeleryProcess.start(cel.celeryUrl) : undefined;
      if (celery) {
        processes.push(celery);
        await celery.call({ op: "prepare" });
        celeryInfo = { ...celeryInfo, ...(await celery.call({ op: "info" })) };
      }
      sides.push({ dialect, label: DIALECT_LABEL[dialect], tl, cel, celery });
    }
    await machine(args, celeryInfo);
    const ctx: BenchContext = { plan: makePlan(args.quick), sides, fixtures: new Fixtures(args.quick) };
    let templatesReady = false;
    for (const [index, scenario] of selected.entries()) {
      if (!templatesReady && scenario.templates) {
        // Every big table the remaining scenarios need, filled now (in parallel, between measurements).
        templatesReady = true;
        const specs = selected.slice(index).flatMap((s) => s.templates?.(ctx) ?? []);
        const unique = [...new Map(specs.map((t) => [`${t.dialect}_${t.kind}_${t.name}`, t])).values()];
        const fillStarted = performance.now();
        process.stderr.write(`[${fmt((performance.now() - started) / 1000)} s] filling ${unique.length} template tables\n`);
        try {
          await ctx.fixtures.prepare(unique);
        } catch (error) {
          out.print(`\n**Filling the big tables failed:** ${String(error).split("\n")[0]}`); // the scenarios needing them fail below
        }
        out.print(
          `\n(Big tables for the scenarios below: ${unique.length} filled with server-side SQL in ${fmt((performance.now() - fillStarted) / 1000)} s, before any of them ran.)`,
        );
      }
      const scenarioStarted = performance.now();
      out.print(`\n### ${scenario.title}`);
      process.stderr.write(`[${fmt((performance.now() - started) / 1000)} s] ${scenario.name}: ${scenario.title}\n`);
      try {
        await scenario.run(ctx);
      } catch (error) {
        out.print(
          `\n**${scenario.name} failed:** ${String((error as Error).stack ?? error)
            .split("\n")
            .slice(0, 4)
            .join(" ")}`,
        );
      }
      process.stderr.write(`  (${scenario.name} took ${fmt((performance.now() - scenarioStarted) / 1000, 1)} s)\n`);
    }
    printTargets();
    out.print(`\nTotal time ${fmt((performance.now() - started) / 1000)} s; load average at the end: ${load()}.`);
  } finally {
    for (const p of processes) await p.close().catch(() => undefined);
    await dropAll();
    if (args.outFile) out.save(args.outFile);
  }
}

await main();
