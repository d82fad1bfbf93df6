/**
 * A throwaway PostgreSQL cluster of the test's own (scripts/pg-test-server.sh), for tests that
 * must take the server away and bring it back. Never the shared server: its port comes from
 * TASKLEDGER_TEST_PG_THROWAWAY_PORT (default 56050, this suite's reserved range).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../scripts/pg-test-server.sh", import.meta.url));

export interface ThrowawayCluster {
  /** The cluster's `test` database. */
  url: string;
  /** Stops the server (fast shutdown, data kept). */
  stopServer(): Promise<void>;
  /** Starts it again on the same data. */
  startServer(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

function pgBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`${root}/${v}/bin/pg_ctl`)) return `${root}/${v}/bin`;
  throw new Error("no PostgreSQL server binaries for a throwaway cluster");
}

/** pg_ctl as the postgres user (postgres refuses to run as root). */
function pgCtl(args: string[]): Promise<unknown> {
  const command = `${pgBin()}/pg_ctl`;
  return process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args);
}

export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const port = process.env["TASKLEDGER_TEST_PG_THROWAWAY_PORT"] ?? "56050";
  const dir = `/tmp/pgtest-${port}`;
  const env = { ...process.env, PGPORT_TEST: port, PGTEST_DIR: dir };
  await run("bash", [script, "start"], { env });
  return {
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    stopServer: async () => void (await pgCtl(["-D", `${dir}/data`, "-m", "fast", "-w", "-t", "30", "stop"])),
    startServer: async () =>
      void (await pgCtl([
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
      ])),
    remove: async () => void (await run("bash", [script, "stop"], { env })),
  };
}
