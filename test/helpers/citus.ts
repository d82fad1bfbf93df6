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
import { openBackend, type Capabilities } from "../../src/index.js";
import { capabilitiesAt, type Harness } from "./harness.js";
import { pgHarness } from "./pg-harness.js";
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

const databaseName = (label: string) => `tl_${label.replace(/[^a-z0-9]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;

function citusDatabase(all: Node[], name: string): TestDatabase {
  const admin = new URL(CITUS_URL!).pathname.slice(1);
  return {
    name,
    url: nodeUrl(all[0]!, name),
    drop: async () => {
      for (const node of all) await query(nodeUrl(node, admin), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    },
  };
}

/** A fresh database on every node, Citus set up in it, the coordinator's URL returned; migrated and distributed unless `bare`. */
export async function createCitusDatabase(label: string, options: { bare?: boolean } = {}): Promise<TestDatabase> {
  const all = await clusterNodes();
  const name = databaseName(label);
  const admin = new URL(CITUS_URL!).pathname.slice(1);
  for (const node of all) {
    await query(nodeUrl(node, admin), `CREATE DATABASE ${name}`);
    await query(nodeUrl(node, name), "CREATE EXTENSION citus");
  }
  const coordinator = all[0]!;
  const db = citusDatabase(all, name);
  await query(db.url, "SELECT citus_set_coordinator_host($1, $2)", [coordinator.host, coordinator.port]);
  for (const worker of all.slice(1)) await query(db.url, "SELECT citus_add_node($1, $2)", [worker.host, worker.port]);
  if (!options.bare) await (await openBackend({ url: db.url, distribute: true })).close();
  return db;
}

/**
 * A copy of a Citus database: each node's database copied from its own (CREATE DATABASE …
 * TEMPLATE), so the metadata and the shards match. Citus's maintenance daemon connects to the
 * source now and then, so its sessions are ended first, with a few tries.
 */
async function copyCitusDatabase(source: string, label: string): Promise<TestDatabase> {
  const all = await clusterNodes();
  const name = databaseName(label);
  const admin = new URL(CITUS_URL!).pathname.slice(1);
  for (const node of all)
    for (let attempt = 1; ; attempt++) {
      try {
        await query(
          nodeUrl(node, admin),
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
          [source],
        );
        await query(nodeUrl(node, admin), `CREATE DATABASE ${name} TEMPLATE ${source}`);
        break;
      } catch (error) {
        if (attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  return citusDatabase(all, name);
}

/** Nothing is claimed where no cluster is set (its suites skip). */
const NONE: Capabilities = { pushedChanges: false, concurrentWriters: false, archivePartitions: false, sessionLocks: false };

/**
 * The Harness through a Citus coordinator: PostgreSQL's (test/helpers/pg-harness.ts), with
 * databases made on every node of the cluster, migratedUrl's migrated and distributed
 * (`migrate --distribute`), freshUrl's bare; capabilities read from a backend on the coordinator,
 * and the facts a single server does not share.
 */
export async function citusHarness(): Promise<Harness> {
  const base = await pgHarness();
  const capabilities = CITUS_URL ? await capabilitiesAt(CITUS_URL, (url) => openBackend({ url, migrate: false })) : NONE;
  const databases: TestDatabase[] = [];
  const keep = (db: TestDatabase) => {
    databases.push(db);
    return db.url;
  };
  return {
    ...base,
    dialect: "postgresql (Citus coordinator)",
    capabilities,
    facts: {
      // Triggers run on the worker holding the shard: their NOTIFY never reaches the coordinator.
      otherWritersPushed: false,
      // The harness's throwaway server is a single PostgreSQL, not a cluster.
      awayableIsSame: false,
      // Its databases take migrate --distribute after migrate.
      migrateIsWholeSetup: false,
      // A partition's rows are in shards on the workers.
      readersHoldDdl: false,
    },
    freshUrl: async (label) => keep(await createCitusDatabase(label, { bare: true })),
    migratedUrl: async (label) => keep(await createCitusDatabase(label)),
    copyOf: async (url, label) => keep(await copyCitusDatabase(new URL(url).pathname.slice(1), label)),
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
      await base.cleanup();
    },
    // On Citus a statement waits on the worker holding its shard; citus_lock_waits sees every node.
    untilLockWaiters: async (url, sessions) => {
      for (let i = 0; i < 1000; i++) {
        const rows = await query<{ n: number }>(url, "SELECT count(DISTINCT waiting_gpid)::int AS n FROM citus_lock_waits");
        if (rows[0]!.n >= sessions) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`${sessions} sessions never waited for a lock`);
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
