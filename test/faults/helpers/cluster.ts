/**
 * The fault suite's own PostgreSQL: a throwaway cluster (test/helpers/pg-cluster.ts) that the
 * suite may stop, restart and crash without touching the shared server. One cluster serves the
 * whole suite (test/faults/pg.test.ts), on FAULT_PG_PORT (default 29010; each helper branch and
 * CI job has its own port range).
 */
import pg from "pg";
import { pgServerBin, startThrowawayCluster } from "../../helpers/pg-cluster.js";

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

export async function startCluster(): Promise<Cluster> {
  const cluster = await startThrowawayCluster({ port: Number(process.env["FAULT_PG_PORT"] ?? 29010), fresh: true });
  const url = (database = "test") => `postgres://postgres@127.0.0.1:${cluster.port}/${database}`;
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
    port: cluster.port,
    url,
    query,
    async createDatabase(name) {
      await query("test", `CREATE DATABASE ${name}`);
      return url(name);
    },
    async restart(mode, downMs) {
      const stopped = performance.now();
      await cluster.stopServer(mode);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await cluster.startServer();
      return performance.now() - stopped;
    },
    stop: () => cluster.remove(),
  };
}

/** Why the suite cannot run here (no PostgreSQL server binaries), or undefined. */
export function clusterUnavailable(): string | undefined {
  return pgServerBin() === undefined ? "no PostgreSQL server binaries (initdb, pg_ctl) on this machine" : undefined;
}
