/**
 * The Harness on a real MariaDB/MySQL server (test/helpers/harness.ts): each database a suite asks
 * for is its own, created on TASKLEDGER_TEST_MYSQL_URL's server and dropped by cleanup(). MySQL
 * checks the passwords it is given (PostgreSQL's test server trusts), so the URL forms that carry
 * a secret log in as users made here with exactly those passwords.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { openBackend, type Capabilities } from "../../src/index.js";
import { readMigrations } from "../../src/db/migrations.js";
import { TIER_COLUMNS } from "../../src/db/rows.js";
import { capabilitiesAt, type Harness, type SecretUrlForm } from "./harness.js";
import {
  connect,
  createTestDatabase,
  MYSQL_URL,
  mysqlUnavailable,
  queryDatabase,
  startProxy,
  urlForDatabase,
  type TestDatabase,
} from "./mysql.js";

const run = promisify(execFile);
const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
const NONE: Capabilities = { pushedChanges: false, concurrentWriters: false, archivePartitions: false, sessionLocks: false };
/** The passwords the shared suites put in URLs (secrets.ts, withPassword), each with a user that has it. */
const PASSWORD_USERS: Record<string, string> = {
  hunter2: "taskledger_cli",
  "Zq7-hunter2-Xy": "taskledger_cli_secret",
  "s3cret-pw": "taskledger_web",
};

/** `url` logged in as the user whose password is `password`. */
function asUserWith(url: string, password: string): URL {
  const user = PASSWORD_USERS[password];
  if (user === undefined) throw new Error(`no MySQL test user has the password ${password}: add one to PASSWORD_USERS`);
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed;
}

/**
 * mysqldump piped into mysql: MariaDB has no CREATE DATABASE … TEMPLATE; sequences and triggers come
 * along. Without LOCK TABLES in the dump: a locked table's insert may not touch the unlocked sequence.
 */
async function copyDatabase(from: string, to: string): Promise<void> {
  const server = new URL(MYSQL_URL);
  const args = ["-h", server.hostname, "-P", server.port || "3306", "-u", decodeURIComponent(server.username) || "root"];
  const password = decodeURIComponent(server.password);
  const env = { ...process.env, ...(password ? { MYSQL_PWD: password } : {}) };
  const { stdout } = await run(
    "mysqldump",
    [...args, "--triggers", "--routines", "--skip-lock-tables", "--skip-add-locks", "--single-transaction", from],
    {
      env,
      maxBuffer: 1 << 30,
      encoding: "buffer",
    },
  );
  await new Promise<void>((resolve, reject) => {
    const child = execFile("mysql", [...args, to], { env }, (error) => (error ? reject(error) : resolve()));
    child.stdin!.end(stdout);
  });
}

export async function mysqlHarness(): Promise<Harness> {
  const reachable = (await mysqlUnavailable()) === undefined;
  const capabilities = reachable ? await capabilitiesAt(MYSQL_URL, (url) => openBackend({ url, migrate: false })) : NONE;
  if (reachable)
    for (const [password, user] of Object.entries(PASSWORD_USERS)) {
      await queryDatabase(MYSQL_URL, "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [user, password]);
      await queryDatabase(MYSQL_URL, "GRANT ALL PRIVILEGES ON *.* TO ?@'%'", [user]);
    }
  const databases: TestDatabase[] = [];
  const proxies: { close(): Promise<void> }[] = [];
  let template: Promise<TestDatabase> | undefined;
  const fresh = async (label: string) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db;
  };
  const nameOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

  return {
    dialect: "mysql",
    capabilities,
    freshUrl: async (label) => (await fresh(label)).url,
    migratedUrl: async (label) => {
      template ??= (async () => {
        const db = await fresh("template");
        await (await openBackend({ url: db.url })).close();
        return db;
      })();
      const db = await fresh(label);
      await copyDatabase((await template).name, db.name);
      return db.url;
    },
    copyOf: async (url, label) => {
      const db = await fresh(label);
      await copyDatabase(nameOf(url), db.name);
      return db.url;
    },
    migrationTags: () => readMigrations("mysql").map((m) => m.tag),
    cleanup: async () => {
      await Promise.all(proxies.splice(0).map((p) => p.close()));
      await Promise.all(databases.splice(0).map((db) => db.drop()));
      template = undefined;
    },
    transientError: () =>
      Object.assign(new Error("Connection lost: The server closed the connection."), { code: "PROTOCOL_CONNECTION_LOST" }),
    liveLockHolder: () => /MySQL connection \d+ .*which is alive/,
    withPassword: (url, password) => asUserWith(url, password).toString(),
    secretUrlForms: (url, secret): SecretUrlForm[] => {
      const login = asUserWith(url, secret);
      const hostPath = `${login.host}${login.pathname}`;
      const userinfo = `${login.username}:${secret}`;
      return [
        { label: "userinfo password", argv: ["--url", `mysql://${userinfo}@${hostPath}`] },
        { label: "mariadb:// form", argv: ["--url", `mariadb://${userinfo}@${hostPath}`] },
        { label: "Celery's db+mysql+pymysql form", argv: ["--url", `db+mysql+pymysql://${userinfo}@${hostPath}`] },
        { label: "Celery's db+mysql form", argv: ["--url", `db+mysql://${userinfo}@${hostPath}`] },
        { label: "--url= form", argv: [`--url=mysql://${userinfo}@${hostPath}`] },
        { label: "TASKLEDGER_URL", argv: [], env: `mysql://${userinfo}@${hostPath}` },
      ];
    },
    setRaw: async (url, taskId, column, value) => {
      if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
      await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`, [value, taskId]);
    },
    setRawGroup: async (url, groupId, value) => {
      await queryDatabase(url, "UPDATE celery_tasksetmeta SET result = ? WHERE taskset_id = ?", [value, groupId]);
    },
    // Strict mode refuses text in a blob column of the wrong kind no more than PostgreSQL does.
    wrongTypeValues: () => ({}),
    readDateDoneText: async (url, taskId) =>
      (await queryDatabase<{ d: string }>(url, "SELECT CAST(date_done AS CHAR) AS d FROM celery_taskmeta WHERE task_id = ?", [taskId]))[0]!
        .d,
    insertCeleryStarted: async (url, taskId) => {
      // As Celery on MariaDB inserts (SQLAlchemy 1.4+): the id drawn from the sequence in the statement, date_done NULL.
      await queryDatabase(
        url,
        "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, traceback) VALUES (NEXTVAL(task_id_sequence), ?, 'STARTED', NULL, NULL, NULL)",
        [taskId],
      );
    },
    // Holds the table locked so the operation's statement blocks, kills that statement's connection
    // (as a server restart would), then lets go: the retry must reconnect and write once.
    withTransientFault: async (url, operation) => {
      const admin = await connect(url);
      try {
        await admin.query("LOCK TABLES celery_taskmeta WRITE");
        const running = operation();
        running.catch(() => undefined);
        let killed = 0;
        for (let i = 0; i < 200 && killed === 0; i++) {
          const [rows] = (await admin.query(
            "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND STATE LIKE '%lock%'",
          )) as unknown as [{ id: number }[]];
          for (const row of rows) await admin.query(`KILL ${Number(row.id)}`);
          killed = rows.length;
          if (killed === 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await admin.query("UNLOCK TABLES");
        if (killed === 0) throw new Error("the operation never blocked on the lock");
        return await running;
      } finally {
        await admin.end();
      }
    },
    persistentFault: async () => ({ url: "mysql://root:secret@127.0.0.1:1/nowhere", release: async () => undefined }),
    exec: (url, text) => queryDatabase(url, text),
    execRaw: async (url, statement) => {
      await queryDatabase(url, statement);
    },
    countRows: async (url, table) => Number((await queryDatabase<{ n: number }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n),
    // A TCP proxy in front of the shared server: away() cuts every connection through it.
    awayableDatabase: async (label) => {
      const db = await fresh(label);
      await (await openBackend({ url: db.url })).close();
      const proxy = await startProxy();
      proxies.push(proxy);
      const url = new URL(urlForDatabase(db.name));
      url.port = String(proxy.port);
      return { url: url.toString(), away: proxy.away, back: proxy.back };
    },
    connectionCount: async (url) =>
      Number(
        (
          await queryDatabase<{ n: number }>(
            url,
            "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
          )
        )[0]!.n,
      ),
    // Waking reads the change table through the pool: no connection of its own to count or drop.
    dropListeners: async () => 0,
    listenerCount: async () => 0,
    listen: () => Promise.reject(new Error("MySQL has no LISTEN: the test should have skipped on capabilities.pushedChanges")),
    untilLockWaiters: async (url, sessions) => {
      const client = await connect(url);
      try {
        for (let i = 0; i < 1000; i++) {
          // Row locks (InnoDB transactions in LOCK WAIT; INNODB_TRX lags, so also a statement still
          // running after 200 ms, which in these tests is one waiting) and metadata, table and named
          // locks (the process list's "Waiting for …" and GET_LOCK's "User lock" states), on this database.
          const [rows] = (await client.query(
            `SELECT count(*) AS n FROM information_schema.PROCESSLIST AS p
            WHERE p.ID <> CONNECTION_ID() AND p.DB = DATABASE()
              AND (p.STATE LIKE 'Waiting for%' OR p.STATE = 'User lock'
                OR (p.COMMAND IN ('Query', 'Execute') AND p.TIME_MS > 200)
                OR p.ID IN (SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'))`,
          )) as unknown as [{ n: number }[]];
          if (Number(rows[0]!.n) >= sessions) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        const [seen] = await client.query(
          "SELECT p.ID, p.STATE, LEFT(p.INFO, 60) AS info, t.trx_state FROM information_schema.PROCESSLIST AS p LEFT JOIN information_schema.INNODB_TRX AS t ON t.trx_mysql_thread_id = p.ID WHERE p.DB = DATABASE()",
        );
        throw new Error(`${sessions} sessions never waited for a lock: ${JSON.stringify(seen)}`);
      } finally {
        await client.end();
      }
    },
    openArchiveMove: async (url, taskIds) => {
      const mover = await connect(url);
      try {
        await mover.query("START TRANSACTION");
        await mover.query(
          `INSERT INTO celery_taskmeta_archive (${TIER_COLUMNS}, expires_at, archived_at)
          SELECT ${TIER_COLUMNS}, UTC_TIMESTAMP(6) + INTERVAL 20 DAY, UTC_TIMESTAMP(6) FROM celery_taskmeta WHERE task_id IN (?)`,
          [taskIds],
        );
        await mover.query("DELETE FROM celery_taskmeta WHERE task_id IN (?)", [taskIds]);
      } catch (error) {
        await mover.end();
        throw error;
      }
      return {
        commit: async () => void (await mover.query("COMMIT")),
        end: () => mover.end().catch(() => undefined),
      };
    },
    // A partition is no table of its own here: named as `table PARTITION (p…)`, which count(*) and a reader's SELECT take.
    partitionsOf: async (url, table) =>
      (
        await queryDatabase<{ name: string }>(
          url,
          "SELECT PARTITION_NAME AS name FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL ORDER BY PARTITION_ORDINAL_POSITION",
          [table],
        )
      ).map((r) => `${table} PARTITION (${r.name})`),
    holdReader: async (url, table) => {
      const reader = await connect(url);
      await reader.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
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
