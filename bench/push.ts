/**
 * Telling users, measured: commit-to-event latency of a status stream (a writer on its own
 * connection commits, the stream's event arrives), 1,000 concurrent streams on one process (memory,
 * database listeners), webhook dispatch throughput to a local receiver, and the cost of a store with
 * webhooks registered against the same store without (interleaved rounds, same run).
 *
 *   npx tsx bench/push.ts [postgres://…/db] [sqlite file] [mysql://…/server-db] [--only=postgresql,sqlite,mysql]
 *
 * Arguments are told apart by their form (postgres:// or postgresql://, mysql:// or mariadb://,
 * else a SQLite file). On MySQL/MariaDB a database of its own (bench_push_<pid>) is created on the
 * URL's server and dropped at the end. TASKLEDGER_TEST_MYSQL_URL is the MySQL default.
 */
import http from "node:http";
import { openBackend } from "../src/index.js";
import { createStatusHandler, signStatusToken } from "../src/http.js";
import { quantile } from "./lib.js";

const SECRET = "bench-secret-0123456789abcdef";
const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const only = process.argv
  .slice(2)
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const pgUrl = args.find((a) => /^postgres(ql)?:/.test(a)) ?? "postgres://postgres@127.0.0.1:5432/bench_push";
const mysqlServer =
  args.find((a) => /^(mysql|mariadb):/.test(a)) ?? process.env["TASKLEDGER_TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306/test";
const sqliteUrl = `sqlite:${args.find((a) => !/^(postgres(ql)?|mysql|mariadb):/.test(a)) ?? `/tmp/bench-push-${process.pid}.db`}`;

/** A database of this run's own on the MySQL server: its URL, and how to drop it. */
async function mysqlDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const mysql = (await import("mysql2/promise")).default;
  const name = `bench_push_${process.pid}`;
  const admin = await mysql.createConnection(mysqlServer.replace(/^mariadb:/, "mysql:"));
  await admin.query(`CREATE DATABASE \`${name}\``);
  const url = new URL(mysqlServer);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}

/** Reads until `count` more events have arrived; returns when the last did. */
async function events(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<number> {
  const decoder = new TextDecoder();
  let seen = 0;
  while (seen < count) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended early");
    seen += decoder.decode(value).split("event: ").length - 1;
  }
  return performance.now();
}

async function latency(url: string, n: number): Promise<number[]> {
  const server = await openBackend({ url });
  const writer = await openBackend({ url });
  const handler = createStatusHandler(server, { secret: SECRET });
  const lags: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `lat-${Date.now()}-${i}`;
    await writer.storeResult(id, null, "RECEIVED");
    const response = await handler(new Request(`http://b/tasks/${id}/events?token=${signStatusToken(SECRET, id)}`));
    const reader = response.body!.getReader();
    await events(reader, 1);
    while (server.waiterCount < 1) await new Promise((r) => setTimeout(r, 1));
    const arrived = events(reader, 1);
    await writer.storeResult(id, 1, "SUCCESS");
    const committed = performance.now();
    lags.push((await arrived) - committed);
    await reader.cancel();
  }
  await server.close();
  await writer.close();
  return lags.sort((a, b) => a - b);
}

async function manyStreams(url: string, n: number) {
  const server = await openBackend({ url });
  const writer = await openBackend({ url });
  const handler = createStatusHandler(server, { secret: SECRET });
  global.gc?.();
  const before = process.memoryUsage();
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  for (let i = 0; i < n; i++) {
    const id = `many-${i}`;
    const response = await handler(new Request(`http://b/tasks/${id}/events?token=${signStatusToken(SECRET, id)}`));
    const reader = response.body!.getReader();
    await reader.read();
    readers.push(reader);
  }
  while (server.waiterCount < n) await new Promise((r) => setTimeout(r, 10));
  global.gc?.();
  const after = process.memoryUsage();
  let listeners = 0;
  if (url.startsWith("postgres")) {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    listeners = Number(
      (
        await client.query(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskledger-listen'",
        )
      ).rows[0].n,
    );
    await client.end();
  }
  // One commit wakes its stream among the n.
  await events(readers[n - 1]!, 1); // the initial state
  const next = events(readers[n - 1]!, 1);
  await writer.storeResult(`many-${n - 1}`, 1, "SUCCESS");
  const t0 = performance.now();
  const lag = (await next) - t0;
  await Promise.all(readers.map((r) => r.cancel()));
  await server.close();
  await writer.close();
  return { heapPerStreamKb: (after.heapUsed - before.heapUsed) / n / 1024, rssMb: (after.rss - before.rss) / 1048576, listeners, lag };
}

async function storeCost(url: string, rounds: number, perRound: number) {
  const backend = await openBackend({ url, resultExtended: true });
  const results: Record<string, number[]> = { none: [], "one webhook, no match": [], "one webhook, every task": [] };
  let hook: number | undefined;
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? Object.keys(results) : Object.keys(results).reverse()) {
      if (hook !== undefined) await backend.removeWebhooks(hook);
      hook = undefined;
      if (mode !== "none")
        hook = (await backend.addWebhook({ url: "http://127.0.0.1:9/", match: mode.includes("no match") ? "other.*" : "" })).id;
      const t0 = performance.now();
      for (let i = 0; i < perRound; i++)
        await backend.storeResult(`cost-${r}-${mode}-${i}`, i, "SUCCESS", { request: { name: "reports.x" } });
      results[mode]!.push((perRound / (performance.now() - t0)) * 1000);
    }
  }
  if (hook !== undefined) await backend.removeWebhooks(hook);
  await backend.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
}

async function dispatchThroughput(url: string, n: number) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const backend = await openBackend({ url });
  const { id } = await backend.addWebhook({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` });
  await backend.storeMany(
    Array.from({ length: n }, (_, i) => ({ taskId: `disp-${Date.now()}-${i}`, status: "SUCCESS" as const, result: i })),
  );
  let delivered = 0;
  const t0 = performance.now();
  const dispatcher = backend.startWebhookDispatcher({ interval: 10, onAttempt: (a) => (delivered += a.outcome === "delivered" ? 1 : 0) });
  while (delivered < n) await new Promise((r) => setTimeout(r, 5));
  const perSecond = (n / (performance.now() - t0)) * 1000;
  await dispatcher.stop();
  await backend.removeWebhooks(id);
  await backend.close();
  server.close();
  return perSecond;
}

async function main() {
  const wanted = (dialect: string) => !only || only.includes(dialect);
  const mysqlDb = wanted("mysql") ? await mysqlDatabase() : undefined;
  const targets: [string, string][] = [];
  if (wanted("postgresql")) targets.push(["PostgreSQL", pgUrl]);
  if (wanted("sqlite")) targets.push(["SQLite", sqliteUrl]);
  if (mysqlDb) targets.push(["MySQL", mysqlDb.url]);
  try {
    await measure(targets);
  } finally {
    await mysqlDb?.drop();
  }
}

async function measure(targets: readonly [string, string][]) {
  for (const [name, url] of targets) {
    const lags = await latency(url, 60);
    console.log(
      `${name}: commit-to-event p50 ${quantile(lags, 0.5).toFixed(1)} ms, p95 ${quantile(lags, 0.95).toFixed(1)} ms (n=${lags.length})`,
    );
    const many = await manyStreams(url, 1_000);
    console.log(
      `${name}: 1,000 open streams: heap ${many.heapPerStreamKb.toFixed(1)} KiB per stream, RSS +${many.rssMb.toFixed(1)} MiB, LISTEN connections ${many.listeners}, one commit among them reached its stream in ${many.lag.toFixed(1)} ms`,
    );
    const cost = await storeCost(url, 6, 300);
    const base = cost["none"]!;
    console.log(
      `${name}: single-row SUCCESS stores/s: ${Object.entries(cost)
        .map(([k, v]) => `${k} ${v.toFixed(0)} (${(v / base).toFixed(2)}x)`)
        .join(", ")}`,
    );
    console.log(`${name}: webhook dispatch, 2,000 deliveries to a local receiver: ${(await dispatchThroughput(url, 2_000)).toFixed(0)}/s`);
  }
}

await main();
