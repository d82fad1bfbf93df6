/**
 * A throwaway MariaDB server of the test's own (mariadb-install-db into a directory of its own,
 * mariadbd on a port of its own, run as the mysql user), for tests that must take the server
 * away, restart or kill it. Never the shared server on 3306. It starts in about a second.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);
const MARIADBD = "/usr/sbin/mariadbd";
const INSTALL_DB = "/usr/bin/mariadb-install-db";

export interface ThrowawayMysql {
  port: number;
  /** mysql://root@127.0.0.1:<port>/<database>. */
  url(database?: string): string;
  /** Stops the server: a clean shutdown, or kill -9 (a crash; InnoDB recovers at the next start). */
  stopServer(mode: "fast" | "immediate"): Promise<void>;
  /** Starts it again on the same data and waits until it answers. */
  startServer(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

/** Why a throwaway server cannot run here, or undefined. */
export function mysqlServerUnavailable(): string | undefined {
  if (!existsSync(MARIADBD) || !existsSync(INSTALL_DB)) return "no MariaDB server binaries (mariadbd, mariadb-install-db) on this machine";
  return undefined;
}

export async function startThrowawayMysql(port: number): Promise<ThrowawayMysql> {
  const dir = `/tmp/mdbtest-${port}`;
  const pidFile = `${dir}/mysqld.pid`;
  const asRoot = process.getuid?.() === 0;
  const pid = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined);
  const alive = (p: number | undefined) => {
    if (!p) return false;
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  const answers = async () => {
    const mysql = await import("mysql2/promise");
    try {
      const connection = await mysql.createConnection({ host: "127.0.0.1", port, user: "root", connectTimeout: 500 });
      await connection.end();
      return true;
    } catch {
      return false;
    }
  };
  const until = async (condition: () => Promise<boolean> | boolean, what: string, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`throwaway MariaDB on ${port}: ${what} took longer than ${ms} ms (log: ${dir}/error.log)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const startServer = async () => {
    const args = [
      "--no-defaults",
      ...(asRoot ? ["--user=mysql"] : []),
      `--datadir=${dir}/data`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--socket=${dir}/mysqld.sock`,
      `--pid-file=${pidFile}`,
      `--log-error=${dir}/error.log`,
      "--skip-log-bin",
      "--innodb-buffer-pool-size=64M",
      "--max-connections=300",
    ];
    spawn(MARIADBD, args, { detached: true, stdio: "ignore" }).unref();
    await until(answers, "starting");
  };
  const stopServer = async (mode: "fast" | "immediate") => {
    const p = pid();
    if (!alive(p)) return;
    process.kill(p!, mode === "fast" ? "SIGTERM" : "SIGKILL");
    await until(() => !alive(p), "stopping");
    if (mode === "immediate") rmSync(pidFile, { force: true });
  };

  // A run killed earlier may have left one here.
  if (existsSync(dir)) {
    if (alive(pid())) process.kill(pid()!, "SIGKILL");
    await until(() => !alive(pid()), "stopping a leftover server");
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  if (asRoot) await run("chown", ["mysql:mysql", dir]);
  await run(INSTALL_DB, [
    ...(asRoot ? ["--user=mysql"] : []),
    `--datadir=${dir}/data`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  await startServer();
  const mysql = await import("mysql2/promise");
  const connection = await mysql.createConnection({ host: "127.0.0.1", port, user: "root" });
  await connection.query("CREATE DATABASE IF NOT EXISTS test");
  await connection.end();
  return {
    port,
    url: (database = "test") => `mysql://root@127.0.0.1:${port}/${database}`,
    stopServer,
    startServer,
    remove: async () => {
      await stopServer("immediate");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
