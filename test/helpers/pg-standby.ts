/**
 * A hot standby of a throwaway PostgreSQL cluster (test/helpers/pg-cluster.ts), made as a DBA
 * makes one: pg_basebackup -R from the primary into a directory of its own, then started on a port
 * of its own with streaming replication (and the primary's max_connections, which a standby may not
 * undercut). Never the shared server.
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import pg from "pg";
import { pgServerBin } from "./pg-cluster.js";

const run = promisify(execFile);

export interface Standby {
  url: string;
  /** Runs one statement on the standby (pg_wal_replay_pause(), say). */
  query(text: string): Promise<pg.QueryResultRow[]>;
  remove(): Promise<void>;
}

/** Runs a server binary as the postgres user (postgres refuses to run as root). */
function asPostgres(command: string, args: string[]): Promise<unknown> {
  return process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", command, ...args]) : run(command, args);
}

export async function startStandby(primaryPort: number, port: number): Promise<Standby> {
  const bin = pgServerBin();
  if (bin === undefined) throw new Error("no PostgreSQL server binaries for a standby");
  const dir = `/tmp/pgtest-${port}`;
  const stop = () => asPostgres(`${bin}/pg_ctl`, ["-D", `${dir}/data`, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
  await stop();
  rmSync(dir, { recursive: true, force: true });
  await run("install", ["-d", "-o", process.getuid?.() === 0 ? "postgres" : String(process.getuid?.()), dir]);
  await asPostgres(`${bin}/pg_basebackup`, [
    "-h",
    "127.0.0.1",
    "-p",
    String(primaryPort),
    "-U",
    "postgres",
    "-D",
    `${dir}/data`,
    "-R",
    "-X",
    "stream",
    // The default spread checkpoint kept pg_basebackup waiting 90 s here.
    "--checkpoint=fast",
  ]);
  await asPostgres(`${bin}/pg_ctl`, [
    "-D",
    `${dir}/data`,
    "-l",
    `${dir}/server.log`,
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c hot_standby=on -c max_connections=200`,
    "start",
  ]);
  const url = `postgres://postgres@127.0.0.1:${port}/test`;
  return {
    url,
    async query(text) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    },
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
