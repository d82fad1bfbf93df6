/**
 * The backend suite's Harness on a PostgreSQL server (plain, or a Citus coordinator): fresh
 * databases come from `create`, everything else is PostgreSQL's own.
 */
import pg from "pg";
import type { Harness } from "./harness.js";
import { startThrowawayCluster, type ThrowawayCluster } from "./pg-cluster.js";
import { queryDatabase, type TestDatabase } from "./pg.js";

export function pgHarness(
  create: (label: string, options?: { empty?: boolean }) => Promise<TestDatabase>,
  profile: Pick<Harness, "citus"> = {},
): Harness {
  const databases: TestDatabase[] = [];
  let cluster: ThrowawayCluster | undefined;
  const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);

  const harness: Harness = {
    ...profile,
    dialect: "postgresql",
    freshUrl: async (label, options) => {
      const db = await create(label, options);
      databases.push(db);
      return db.url;
    },
    setRaw: async (url, taskId, column, value) => {
      if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
      await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = $1 WHERE task_id = $2`, [value, taskId]);
    },
    setRawGroup: async (url, groupId, value) => {
      await queryDatabase(url, "UPDATE celery_tasksetmeta SET result = $1 WHERE taskset_id = $2", [value, groupId]);
    },
    readDateDoneText: async (url, taskId) =>
      (await queryDatabase<{ d: string }>(url, "SELECT date_done::text AS d FROM celery_taskmeta WHERE task_id = $1", [taskId]))[0]!.d,
    insertCeleryStarted: async (url, taskId) => {
      // Exactly how Celery inserts: the id drawn from the sequence in the statement, date_done NULL.
      await queryDatabase(
        url,
        "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, traceback) VALUES (nextval('task_id_sequence'), $1, 'STARTED', NULL, NULL, NULL)",
        [taskId],
      );
    },
    // Holds the table locked so the operation's query blocks, kills that query's connection (as a
    // server restart would), then lets go: the retry must reconnect and write once.
    withTransientFault: async (url, operation) => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query("BEGIN");
        await admin.query("LOCK TABLE celery_taskmeta IN ACCESS EXCLUSIVE MODE");
        const running = operation();
        running.catch(() => undefined);
        let killed = 0;
        for (let i = 0; i < 200 && killed === 0; i++) {
          const rows = await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskledger' AND wait_event_type = 'Lock'",
          );
          killed = rows.rowCount ?? 0;
          if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await admin.query("COMMIT");
        if (killed === 0) throw new Error("the operation never blocked on the lock");
        return await running;
      } finally {
        await admin.end();
      }
    },
    persistentFault: async () => ({ url: "postgres://postgres:secret@127.0.0.1:1/nowhere", release: async () => undefined }),
    exec: (url, text) => queryDatabase(url, text),
    awayableDatabase: async () => {
      cluster ??= await startThrowawayCluster();
      const c = cluster;
      let away = false;
      return {
        url: c.url,
        away: async () => {
          await c.stopServer();
          away = true;
        },
        back: async () => {
          if (away) await c.startServer();
          away = false;
        },
      };
    },
    connectionCount: async (url) =>
      Number(
        (
          await queryDatabase<{ n: string }>(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
          )
        )[0]!.n,
      ),
    dropListeners: async (url) =>
      (
        await queryDatabase(
          url,
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskledger-listen'",
        )
      ).length,
    listenerCount: async (url) =>
      Number(
        (
          await queryDatabase<{ n: string }>(
            url,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'taskledger-listen'",
          )
        )[0]!.n,
      ),
    execRaw: async (url, statement) => {
      await queryDatabase(url, statement);
    },
    countRows: async (url, table) => Number((await queryDatabase<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n),
    listen: async (url, channel) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const received: string[] = [];
      let taken = 0;
      let waiting: (() => void) | undefined;
      client.on("notification", (message) => {
        received.push(message.payload ?? "");
        waiting?.();
      });
      await client.query(`LISTEN "${channel}"`);
      return {
        received,
        next: async () => {
          while (received.length <= taken) await new Promise<void>((resolve) => (waiting = resolve));
          return received[taken++]!;
        },
        close: () => client.end(),
      };
    },
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
      await cluster?.remove();
    },
  };
  return harness;
}
