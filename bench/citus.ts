/**
 * taskledger through a Citus coordinator against plain PostgreSQL, same machine, same settings,
 * rounds interleaved (plain, Citus, Citus, plain, ...), medians with min–max:
 *
 *   tsx bench/citus.ts --plain postgres://…/postgres --citus postgres://…@coordinator/db [--rounds 5]
 *
 * `--citus` names a database on the coordinator whose workers are registered (README, Scaling
 * out); fresh databases are made on every node for the run and dropped after. Scenarios: store
 * with 8 callers (new ids, markAsDone), storeMany of 1,000, getTaskMeta (one caller), wake-up
 * after a taskledger commit, and the CPU each node spends per store, read from /proc while the
 * 8-caller store runs (so the bench must run on the cluster's machine): the inputs of the paper
 * model in BENCHMARKS.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import pg from "pg";
import { AsyncResult, openBackend, states, type DatabaseBackend } from "../src/index.js";
import { fmt, interleave, out, quantile, summarize } from "./lib.js";

const CALLERS = 8;
const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1]!);
const PLAIN = args.get("plain");
const CITUS = args.get("citus");
if (!PLAIN || !CITUS) throw new Error("usage: tsx bench/citus.ts --plain <postgres url> --citus <coordinator url> [--rounds 5]");
const ROUNDS = Number(args.get("rounds") ?? 5);

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function at(url: string, host: string, port: number, database: string): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  u.pathname = `/${database}`;
  return u.toString();
}

interface Node {
  host: string;
  port: number;
  role: string;
}

const name = `tl_bench_citus_${randomBytes(3).toString("hex")}`;
const admin = (url: string) => new URL(url).pathname.slice(1);
const coordinator = new URL(CITUS);
const nodes: Node[] = [
  { host: coordinator.hostname, port: Number(coordinator.port || 5432), role: "coordinator" },
  ...(
    await query<{ host: string; port: number }>(
      CITUS,
      "SELECT nodename AS host, nodeport AS port FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' ORDER BY groupid",
    )
  ).map((n, i) => ({ ...n, role: `worker ${i + 1}` })),
];
const citusVersion = (await query<{ v: string }>(CITUS, "SELECT extversion AS v FROM pg_extension WHERE extname = 'citus'"))[0]!.v;
const shards = Number((await query<{ n: string }>(CITUS, "SHOW citus.shard_count"))[0]!["citus.shard_count" as "n"]);

await query(PLAIN, `CREATE DATABASE ${name}`);
for (const node of nodes) {
  await query(at(CITUS, node.host, node.port, admin(CITUS)), `CREATE DATABASE ${name}`);
  await query(at(CITUS, node.host, node.port, name), "CREATE EXTENSION citus");
}
const citusUrl = at(CITUS, nodes[0]!.host, nodes[0]!.port, name);
await query(citusUrl, "SELECT citus_set_coordinator_host($1, $2)", [nodes[0]!.host, nodes[0]!.port]);
for (const worker of nodes.slice(1)) await query(citusUrl, "SELECT citus_add_node($1, $2)", [worker.host, worker.port]);
const plainUrl = at(PLAIN, new URL(PLAIN).hostname, Number(new URL(PLAIN).port || 5432), name);

const sides: { label: string; url: string; backend: DatabaseBackend }[] = [
  { label: "plain PostgreSQL", url: plainUrl, backend: await openBackend({ url: plainUrl, poolSize: CALLERS }) },
  { label: "Citus coordinator", url: citusUrl, backend: await openBackend({ url: citusUrl, poolSize: CALLERS, distribute: true }) },
];
const PAYLOAD = { rows: 42, ok: true, note: "x".repeat(100) };

/** utime + stime (ms) of every process of the server `url` points at: its postmaster's children. */
const postmasters = new Map<string, number>();

async function serverCpuMs(url: string): Promise<number> {
  let postmaster = postmasters.get(url);
  if (postmaster === undefined) {
    // Read while the backend lives: its parent is the server's postmaster.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      postmaster = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      postmasters.set(url, postmaster);
    } finally {
      await client.end();
    }
  }
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(entry) === postmaster || Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10; // USER_HZ = 100
}

async function concurrentStores(backend: DatabaseBackend, total: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < total / CALLERS; i++) await backend.markAsDone(randomUUID(), PAYLOAD);
    }),
  );
  return (total / (performance.now() - started)) * 1000;
}

const lines: string[] = [];
const log = (line = "") => {
  lines.push(line);
  process.stderr.write(`${line}\n`);
};
const row = (label: string, values: number[], unit: string, digits = 0) => {
  const s = summarize(values);
  return `| ${label} | ${fmt(s.median, digits)} ${unit} | ${fmt(s.min, digits)}–${fmt(s.max, digits)} |`;
};

try {
  log(
    `Citus ${citusVersion}, ${nodes.length - 1} workers, ${shards} shards per table; plain PostgreSQL at ${new URL(PLAIN).host}; ${ROUNDS} rounds`,
  );
  // 1. store, 8 callers
  const STORES = 2_000;
  const cpu = new Map<string, number[]>();
  const store = await interleave(
    ROUNDS,
    sides.map((side) => ({
      name: side.label,
      round: async () => {
        const servers =
          side.url === citusUrl
            ? nodes.map((n) => ({ role: n.role, url: at(CITUS, n.host, n.port, name) }))
            : [{ role: "plain PostgreSQL", url: plainUrl }];
        const before = await Promise.all(servers.map((n) => serverCpuMs(n.url)));
        const rate = await concurrentStores(side.backend, STORES);
        const after = await Promise.all(servers.map((n) => serverCpuMs(n.url)));
        servers.forEach((n, i) => {
          const perStore = (after[i]! - before[i]!) / STORES;
          if (Number.isFinite(perStore)) cpu.set(n.role, [...(cpu.get(n.role) ?? []), perStore]);
        });
        return rate;
      },
    })),
  );
  log();
  log(`Store, ${CALLERS} callers, markAsDone of new ids (${STORES} per round)`);
  log("| side | median | min–max |");
  log("|---|---|---|");
  for (const side of sides) log(row(side.label, store.get(side.label)!, "stores/s"));
  const storeRatio = summarize(store.get(sides[1]!.label)!).median / summarize(store.get(sides[0]!.label)!).median;
  log(`Citus / plain: ${storeRatio.toFixed(2)}x (target >= 0.5x)`);
  log();
  log("Server CPU per single-row store during the rounds above (ms of CPU per store, all stores; a worker serves about 1/N of them)");
  log("| server | median | min–max |");
  log("|---|---|---|");
  for (const role of ["plain PostgreSQL", ...nodes.map((n) => n.role)]) log(row(role, cpu.get(role) ?? [], "ms", 3));

  // 1b. a task's life: STARTED (a new row) then SUCCESS (the same row), 8 callers
  const LIVES = 1_000;
  const lives = await interleave(
    ROUNDS,
    sides.map((side) => ({
      name: side.label,
      round: async () => {
        const started = performance.now();
        await Promise.all(
          Array.from({ length: CALLERS }, async () => {
            for (let i = 0; i < LIVES / CALLERS; i++) {
              const task = randomUUID();
              await side.backend.markAsStarted(task);
              await side.backend.markAsDone(task, PAYLOAD);
            }
          }),
        );
        return ((LIVES * 2) / (performance.now() - started)) * 1000;
      },
    })),
  );
  log();
  log(`Store, ${CALLERS} callers, a task's life: markAsStarted of a new id, then markAsDone of it (${LIVES * 2} stores per round)`);
  log("| side | median | min–max |");
  log("|---|---|---|");
  for (const side of sides) log(row(side.label, lives.get(side.label)!, "stores/s"));
  const lifeRatio = summarize(lives.get(sides[1]!.label)!).median / summarize(lives.get(sides[0]!.label)!).median;
  log(`Citus / plain: ${lifeRatio.toFixed(2)}x`);

  // 2. storeMany of 1,000
  const batch = await interleave(
    ROUNDS,
    sides.map((side) => ({
      name: side.label,
      round: async () => {
        const items = Array.from({ length: 1_000 }, (_, i) => ({ taskId: randomUUID(), status: states.SUCCESS, result: { i } }));
        const started = performance.now();
        await side.backend.storeMany(items);
        return performance.now() - started;
      },
    })),
  );
  log();
  log("storeMany of 1,000 new SUCCESS rows (ms per call)");
  log("| side | median | min–max |");
  log("|---|---|---|");
  for (const side of sides) log(row(side.label, batch.get(side.label)!, "ms"));
  const batchRatio = summarize(batch.get(sides[1]!.label)!).median / summarize(batch.get(sides[0]!.label)!).median;
  log(`Citus / plain time: ${batchRatio.toFixed(2)}x (target <= 3x)`);

  // 3. getTaskMeta, one caller
  const READS = 2_000;
  const ids = new Map<string, string[]>();
  for (const side of sides) {
    const list = Array.from({ length: 200 }, () => randomUUID());
    await side.backend.storeMany(list.map((taskId) => ({ taskId, status: states.SUCCESS, result: PAYLOAD })));
    ids.set(side.label, list);
  }
  const reads = await interleave(
    ROUNDS,
    sides.map((side) => ({
      name: side.label,
      round: async () => {
        const list = ids.get(side.label)!;
        const started = performance.now();
        for (let i = 0; i < READS; i++) await side.backend.getTaskMeta(list[i % list.length]!);
        return (READS / (performance.now() - started)) * 1000;
      },
    })),
  );
  log();
  log(`getTaskMeta, one caller (${READS} reads per round)`);
  log("| side | median | min–max |");
  log("|---|---|---|");
  for (const side of sides) log(row(side.label, reads.get(side.label)!, "reads/s"));
  const readRatio = summarize(reads.get(sides[1]!.label)!).median / summarize(reads.get(sides[0]!.label)!).median;
  log(`Citus / plain: ${readRatio.toFixed(2)}x (target >= 0.5x)`);

  // 4. wake-up after a taskledger commit: a waiter on another backend (its own LISTEN connection)
  log();
  log("Wake-up after a taskledger commit (markAsDone on one backend, get() waiting on another; re-read interval 20 s)");
  log("| side | p50 | p95 | max | samples |");
  log("|---|---|---|---|---|");
  for (const side of sides) {
    const waiter = await openBackend({ url: side.url, migrate: false });
    const samples: number[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const task = randomUUID();
        const waiting = new AsyncResult(task, waiter).get({ timeout: 30_000, interval: 20_000 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        const committed = performance.now();
        await side.backend.markAsDone(task, i);
        await waiting;
        samples.push(performance.now() - committed);
      }
    } finally {
      await waiter.close();
    }
    samples.sort((a, b) => a - b);
    log(
      `| ${side.label} | ${fmt(quantile(samples, 0.5), 1)} ms | ${fmt(quantile(samples, 0.95), 1)} ms | ${fmt(samples.at(-1)!, 1)} ms | ${samples.length} |`,
    );
  }
  out.print(lines.join("\n"));
} finally {
  await Promise.all(sides.map((s) => s.backend.close()));
  await query(PLAIN, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  for (const node of nodes)
    await query(at(CITUS, node.host, node.port, admin(CITUS)), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
}
