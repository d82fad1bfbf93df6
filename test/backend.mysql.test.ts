/** The shared backend suite on a real MariaDB/MySQL server, one fresh database per use. */
import { backendSuite } from "./backend/suite.js";
import type { Harness } from "./helpers/harness.js";
import { connect, createTestDatabase, mysqlSkip, queryDatabase, startProxy, urlForDatabase, type TestDatabase } from "./helpers/mysql.js";

const databases: TestDatabase[] = [];
const proxies: { close(): Promise<void> }[] = [];
const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);

const harness: Harness = {
  dialect: "mysql",
  freshUrl: async (label) => {
    const db = await createTestDatabase(label);
    databases.push(db);
    return db.url;
  },
  setRaw: async (url, taskId, column, value) => {
    if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
    await queryDatabase(url, `UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`, [value, taskId]);
  },
  setRawGroup: async (url, groupId, value) => {
    await queryDatabase(url, "UPDATE celery_tasksetmeta SET result = ? WHERE taskset_id = ?", [value, groupId]);
  },
  readDateDoneText: async (url, taskId) =>
    (await queryDatabase<{ d: string }>(url, "SELECT CAST(date_done AS CHAR) AS d FROM celery_taskmeta WHERE task_id = ?", [taskId]))[0]!.d,
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
  awayableDatabase: async (label) => {
    const db = await createTestDatabase(label);
    databases.push(db);
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
  // No LISTEN connections here: waking reads the change table through the pool.
  dropListeners: async () => 0,
  listenerCount: async () => 0,
  execRaw: async (url, statement) => {
    await queryDatabase(url, statement);
  },
  countRows: async (url, table) => Number((await queryDatabase<{ n: number }>(url, `SELECT count(*) AS n FROM ${table}`))[0]!.n),
  listen: async () => {
    throw new Error("MySQL has no LISTEN");
  },
  cleanup: async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await Promise.all(databases.splice(0).map((db) => db.drop()));
  },
};

backendSuite(harness, await mysqlSkip());
