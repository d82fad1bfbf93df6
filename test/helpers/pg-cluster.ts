/**
 * A throwaway PostgreSQL cluster of the test's own (scripts/pg-test-server.sh: initdb as the
 * postgres user on a port of its own), for tests that must take the server away, restart or
 * crash it. Never the shared server. The backend suite uses TASKLEDGER_TEST_PG_THROWAWAY_PORT
 * (default 29050), the fault suite FAULT_PG_PORT (default 29010; test/faults/helpers/cluster.ts).
 * Both below Linux's ephemeral range (32768-60999): at 56050 a client connection's local port
 * once held the port, and the cluster failed to start with "Address already in use".
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../../scripts/pg-test-server.sh", import.meta.url));

export interface ThrowawayCluster {
  port: number;
  /** The cluster's `test` database. */
  url: string;
  /** Stops the server (`-m fast` by default, or `-m immediate`: a crash), data kept. */
  stopServer(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts it again on the same data. */
  startServer(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

/** The newest PostgreSQL server binaries' directory, or undefined when there are none. */
export function pgServerBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`${root}/${v}/bin/pg_ctl`)) return `${root}/${v}/bin`;
  return undefined;
}

/** pg_ctl as the postgres user (postgres refuses to run as root). */
function pgCtl(args: string[]): Promise<unknown> {
  const bin = pgServerBin();
  if (bin === undefined) throw new Error("no PostgreSQL server binaries for a throwaway cluster");
  const command = `${bin}/pg_ctl`;
  return process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args);
}

/**
 * Starts a cluster on `port` (default TASKLEDGER_TEST_PG_THROWAWAY_PORT, else 29050); `fresh`
 * first removes one a killed run left there.
 */
export async function startThrowawayCluster(options: { port?: number; fresh?: boolean } = {}): Promise<ThrowawayCluster> {
  const port = options.port ?? Number(process.env["TASKLEDGER_TEST_PG_THROWAWAY_PORT"] ?? 29050);
  const dir = `/tmp/pgtest-${port}`;
  const env = { ...process.env, PGPORT_TEST: String(port), PGTEST_DIR: dir };
  if (options.fresh) await run("bash", [script, "stop"], { env }).catch(() => undefined);
  await run("bash", [script, "start"], { env });
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    stopServer: async (mode = "fast") => void (await pgCtl(["-D", `${dir}/data`, "-m", mode, "-w", "-t", "60", "stop"])),
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
