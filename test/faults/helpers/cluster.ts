/**
 * The fault suite's own PostgreSQL: a throwaway cluster (scripts/pg-test-server.sh: initdb as the
 * postgres user on a port of its own) that the suite may stop, restart and crash without touching
 * the shared server. One cluster serves the whole suite (test/faults/pg.test.ts), on FAULT_PG_PORT
 * (default 56010; each helper branch and CI job has its own port range).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../../../scripts/pg-test-server.sh", import.meta.url));

export interface Cluster {
  port: number;
  /** postgres://…/<database> on this cluster. */
  url(database?: string): string;
  /** A new empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (`-m fast` or `-m immediate`), keeps it down `downMs`, starts it; returns ms from stop to accepting. */
  restart(mode: "fast" | "immediate", downMs: number): Promise<number>;
  query<R extends pg.QueryResultRow>(database: string, text: string, values?: unknown[]): Promise<R[]>;
  stop(): Promise<void>;
}

function pgBin(): string {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)) return `/usr/lib/postgresql/${v}/bin`;
  return "";
}

/** pg_ctl as the postgres user (PostgreSQL refuses to run as root). */
async function pgCtl(args: string[]): Promise<void> {
  const bin = pgBin();
  const ctl = bin ? `${bin}/pg_ctl` : "pg_ctl";
  if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", ctl, ...args]);
  else await run(ctl, args);
}

export async function startCluster(): Promise<Cluster> {
  const port = Number(process.env["FAULT_PG_PORT"] ?? 56010);
  const dir = `/tmp/pgtest-${port}`;
  const env = { ...process.env, PGPORT_TEST: String(port), PGTEST_DIR: dir };
  await run("bash", [SCRIPT, "stop"], { env }).catch(() => undefined); // a cluster left by a killed run
  await run("bash", [SCRIPT, "start"], { env });
  const url = (database = "test") => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const query = async <R extends pg.QueryResultRow>(database: string, text: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    port,
    url,
    query,
    async createDatabase(name) {
      await query("test", `CREATE DATABASE ${name}`);
      return url(name);
    },
    async restart(mode, downMs) {
      const stopped = performance.now();
      await pgCtl(["-D", `${dir}/data`, "-m", mode, "-w", "-t", "60", "stop"]);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await pgCtl([
        "-D",
        `${dir}/data`,
        "-l",
        `${dir}/server.log`,
        "-w",
        "-t",
        "60",
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`,
        "start",
      ]);
      return performance.now() - stopped;
    },
    async stop() {
      await run("bash", [SCRIPT, "stop"], { env });
    },
  };
}

/** Why the suite cannot run here (no PostgreSQL server binaries), or undefined. */
export function clusterUnavailable(): string | undefined {
  if (pgBin() !== "") return undefined;
  return "no PostgreSQL server binaries (initdb, pg_ctl) on this machine";
}
