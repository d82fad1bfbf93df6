/**
 * The Harness on a real PostgreSQL server (test/helpers/harness.ts): each database a suite asks
 * for is its own, created on TASKLEDGER_TEST_PG_URL's server and dropped by cleanup().
 */
import pg from "pg";
import { openBackend, type Capabilities } from "../../src/index.js";
import { readMigrations } from "../../src/db/migrations.js";
import { TIER_COLUMNS } from "../../src/db/rows.js";
import { capabilitiesAt, type Harness, type SecretUrlForm } from "./harness.js";
import { startThrowawayCluster, type ThrowawayCluster } from "./pg-cluster.js";
import { createTestDatabase, PG_URL, pgUnavailable, queryDatabase, type TestDatabase } from "./pg.js";

const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
/** Nothing is claimed for a server that does not answer (its suites skip). */
const NONE: Capabilities = { pushedChanges: false, concurrentWriters: false, archivePartitions: false, sessionLocks: false };

/** `url` with its userinfo replaced, keeping host, port and database. */
function pgForm(url: string, build: (hostPath: string, user: string) => string): string {
  const parsed = new URL(url);
  return build(`${parsed.host}${parsed.pathname}`, parsed.username || "postgres");
}

async function withClient<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL harness; its capabilities are read from a backend on the server. */
export async function pgHarness(): Promise<Harness> {
  const capabilities =
    (await pgUnavailable()) === undefined ? await capabilitiesAt(PG_URL, (url) => openBackend({ url, migrate: false })) : NONE;
  const databases: TestDatabase[] = [];
  let cluster: ThrowawayCluster | undefined;
  let template: Promise<TestDatabase> | undefined;

  const fresh = async (label: string, from?: string) => {
    const db = await createTestDatabase(label, from);
    databases.push(db);
    return db;
  };

  return {
    dialect: "postgresql",
    capabilities,
    freshUrl: async (label) => (await fresh(label)).url,
    migratedUrl: async (label) => {
      template ??= (async () => {
        const db = await fresh("template");
        await (await openBackend({ url: db.url })).close();
        return db;
      })();
      return (await fresh(label, (await template).name)).url;
    },
    copyOf: async (url, label) => (await fresh(label, new URL(url).pathname.slice(1))).url,
    migrationTags: () => readMigrations("postgresql").map((m) => m.tag),
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
      template = undefined;
      await cluster?.remove();
    },
    transientError: () => Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" }),
    liveLockHolder: () => /PostgreSQL session \d+ .*which is alive/,
    withPassword: (url, password) => {
      // The test server trusts local connections: the password is accepted and ignored.
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    },
    secretUrlForms: (url, secret): SecretUrlForm[] => [
      { label: "userinfo password", argv: ["--url", pgForm(url, (h, u) => `postgres://${u}:${secret}@${h}`)] },
      { label: "userinfo password with a raw @", argv: ["--url", pgForm(url, (h, u) => `postgres://${u}:a@${secret}@${h}`)] },
      { label: "percent-encoded password", argv: ["--url", pgForm(url, (h, u) => `postgresql://${u}:${secret}%40%2F@${h}`)] },
      {
        label: "Celery's db+postgresql+psycopg2 form",
        argv: ["--url", pgForm(url, (h, u) => `db+postgresql+psycopg2://${u}:${secret}@${h}`)],
      },
      { label: "--url= form", argv: [`--url=${pgForm(url, (h, u) => `postgres://${u}:${secret}@${h}`)}`] },
      { label: "?password= query parameter", argv: ["--url", pgForm(url, (h, u) => `postgres://${h}?user=${u}&password=${secret}`)] },
      {
        label: "?sslpassword= query parameter",
        argv: ["--url", pgForm(url, (h, u) => `postgres://${u}@${h}?sslmode=disable&sslpassword=${secret}`)],
      },
      { label: "TASKLEDGER_URL", argv: [], env: pgForm(url, (h, u) => `postgres://${u}:${secret}@${h}`) },
    ],
    setRaw: async (url, taskId, column, value) => {
      // The named column, checked against a list (it is spliced into the statement).
      if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
      await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = $1 WHERE task_id = $2`, [value, taskId]);
    },
    setRawGroup: async (url, groupId, value) => {
      await queryDatabase(url, "UPDATE celery_tasksetmeta SET result = $1 WHERE taskset_id = $2", [value, groupId]);
    },
    // bytea and text columns cannot hold a value of another type.
    wrongTypeValues: () => ({}),
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
    withTransientFault: (url, operation) =>
      withClient(url, async (admin) => {
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
      }),
    persistentFault: async () => ({ url: "postgres://postgres:secret@127.0.0.1:1/nowhere", release: async () => undefined }),
    exec: (url, text) => queryDatabase(url, text),
    execRaw: async (url, statement) => {
      await queryDatabase(url, statement);
    },
    countRows: async (url, table) => Number((await queryDatabase<{ n: string }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n),
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
    // One connection for every poll: a connection per poll cost more than the query.
    untilLockWaiters: (url, sessions) =>
      withClient(url, async (client) => {
        for (let i = 0; i < 1000; i++) {
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(DISTINCT l.pid)::int AS n FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
            WHERE NOT l.granted AND a.datname = current_database()`,
          );
          if (rows[0]!.n >= sessions) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        throw new Error(`${sessions} sessions never waited for a lock`);
      }),
    openArchiveMove: async (url, taskIds) => {
      const mover = new pg.Client({ connectionString: url });
      await mover.connect();
      try {
        await mover.query("BEGIN");
        await mover.query(
          `WITH moved AS (DELETE FROM celery_taskmeta WHERE task_id = ANY($1) RETURNING ${TIER_COLUMNS}),
            filed AS (INSERT INTO celery_taskmeta_archive (${TIER_COLUMNS}, expires_at, archived_at)
              SELECT ${TIER_COLUMNS}, timezone('UTC', now()) + interval '20 days', timezone('UTC', now()) FROM moved RETURNING task_id, expires_at)
          INSERT INTO celery_taskmeta_archive_ids (task_id, expires_at) SELECT task_id, expires_at FROM filed`,
          [taskIds],
        );
      } catch (error) {
        await mover.end();
        throw error;
      }
      return {
        commit: async () => void (await mover.query("COMMIT")),
        end: () => mover.end().catch(() => undefined),
      };
    },
    partitionsOf: async (url, table) =>
      (
        await queryDatabase<{ name: string }>(
          url,
          "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1",
          [table],
        )
      ).map((r) => r.name),
    holdReader: async (url, table) => {
      const reader = new pg.Client({ connectionString: url });
      await reader.connect();
      await reader.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await reader.query(`SELECT count(*) FROM ${table}`);
      let released: Promise<void> | undefined;
      return {
        release: () =>
          (released ??= (async () => {
            await reader.query("COMMIT").catch(() => undefined);
            await reader.end().catch(() => undefined);
          })()),
      };
    },
  };
}
