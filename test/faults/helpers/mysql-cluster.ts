/**
 * The fault suite's own MariaDB: a throwaway server (test/helpers/mysql-server.ts) the MariaDB
 * scenarios restart and kill without touching the shared server, on FAULT_MYSQL_PORT (default
 * 29110). It answers the same Cluster interface as the PostgreSQL one, so the scenarios are
 * shared; their `$1` placeholders are bound as MySQL's `?`.
 */
import mysql from "mysql2/promise";
import type pg from "pg";
import { startThrowawayMysql } from "../../helpers/mysql-server.js";
import type { Cluster } from "./cluster.js";

export async function startMysqlCluster(): Promise<Cluster> {
  const server = await startThrowawayMysql(Number(process.env["FAULT_MYSQL_PORT"] ?? 29110));
  const query = async <R extends pg.QueryResultRow>(database: string, text: string, values: unknown[] = []) => {
    const connection = await mysql.createConnection({ uri: server.url(database) });
    try {
      const [rows] = await connection.query(text.replace(/\$\d+/g, "?"), values);
      return rows as R[];
    } finally {
      await connection.end();
    }
  };
  return {
    port: server.port,
    url: server.url,
    query,
    async createDatabase(name) {
      await query("test", `CREATE DATABASE \`${name}\``);
      return server.url(name);
    },
    async restart(mode, downMs) {
      const stopped = performance.now();
      await server.stopServer(mode);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.startServer();
      return performance.now() - stopped;
    },
    stop: () => server.remove(),
  };
}
