/**
 * Citus for tests: TASKLEDGER_TEST_CITUS_URL names a database on a Citus coordinator whose
 * workers are registered (README, Scaling out, shows how to build one). Each suite gets fresh
 * databases made on every node of that cluster the way the README says (the database and
 * `CREATE EXTENSION citus` on each node, the coordinator's host, the workers), then migrated and
 * distributed (`migrate --distribute`). Without the variable the Citus suites skip with one line:
 * CI cannot install Citus (no registry has it), so they run where a cluster was built by hand.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openBackend } from "../../src/index.js";
import type { TestDatabase } from "./pg.js";

export const CITUS_URL = process.env["TASKLEDGER_TEST_CITUS_URL"];

interface Node {
  host: string;
  port: number;
  coordinator: boolean;
}

let nodes: Promise<Node[]> | undefined;

/** The cluster's nodes, read from the coordinator's pg_dist_node. */
function clusterNodes(): Promise<Node[]> {
  nodes ??= (async () => {
    const rows = await query<{ host: string; port: number; group: number }>(
      CITUS_URL!,
      "SELECT nodename AS host, nodeport AS port, groupid AS group FROM pg_dist_node WHERE noderole = 'primary' ORDER BY groupid",
    );
    const url = new URL(CITUS_URL!);
    const coordinator = { host: url.hostname, port: Number(url.port || 5432), coordinator: true };
    const workers = rows.filter((r) => r.group !== 0).map((r) => ({ host: r.host, port: r.port, coordinator: false }));
    if (workers.length < 2)
      throw new Error(`the Citus cluster at ${CITUS_URL} has ${workers.length} workers; the Citus suites need at least two`);
    return [coordinator, ...workers];
  })();
  return nodes;
}

/** The `skip` option for a Citus suite: false (run), or the one line saying why not. */
export async function citusSkip(): Promise<string | false> {
  if (!CITUS_URL) {
    const line = "TASKLEDGER_TEST_CITUS_URL is not set (a Citus coordinator with two workers; README, Scaling out); Citus suites skipped";
    console.log(`# ${line}`);
    return line;
  }
  await clusterNodes(); // a cluster that answers but is not one fails here, loudly
  return false;
}

/** The Citus extension's version on the coordinator, for reports. */
export async function citusVersion(): Promise<string> {
  return (await query<{ v: string }>(CITUS_URL!, "SELECT extversion AS v FROM pg_extension WHERE extname = 'citus'"))[0]!.v;
}

function nodeUrl(node: Node, database: string): string {
  const url = new URL(CITUS_URL!);
  url.hostname = node.host;
  url.port = String(node.port);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh database on every node, Citus set up in it, the coordinator's URL returned; migrated and distributed unless `bare`. */
export async function createCitusDatabase(label: string, options: { bare?: boolean } = {}): Promise<TestDatabase> {
  const all = await clusterNodes();
  const name = `tl_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  const admin = CITUS_URL!;
  for (const node of all) {
    await query(nodeUrl(node, new URL(admin).pathname.slice(1)), `CREATE DATABASE ${name}`);
    await query(nodeUrl(node, name), "CREATE EXTENSION citus");
  }
  const coordinator = all[0]!;
  const url = nodeUrl(coordinator, name);
  await query(url, "SELECT citus_set_coordinator_host($1, $2)", [coordinator.host, coordinator.port]);
  for (const worker of all.slice(1)) await query(url, "SELECT citus_add_node($1, $2)", [worker.host, worker.port]);
  if (!options.bare) await (await openBackend({ url, distribute: true })).close();
  return {
    name,
    url,
    drop: async () => {
      for (const node of all)
        await query(nodeUrl(node, new URL(admin).pathname.slice(1)), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

/** The URL of a worker's copy of a database (where taskledger must refuse to write). */
export async function workerUrl(database: string): Promise<string> {
  return nodeUrl((await clusterNodes())[1]!, database);
}

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}
