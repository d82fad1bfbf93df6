/** The shared backend suite on real SQLite files. */
import Database from "better-sqlite3";
import { openBackend } from "../src/index.js";
import { backendSuite } from "./backend/suite.js";
import type { Harness } from "./helpers/harness.js";
import { tempDir } from "./helpers/sqlite.js";

const dir = tempDir("backend");
const fileOf = (url: string) => url.replace(/^sqlite:/, "");
const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);

function withDb<T>(url: string, run: (db: Database.Database) => T): T {
  const db = new Database(fileOf(url));
  try {
    return run(db);
  } finally {
    db.close();
  }
}

function holdWriteLock(url: string): () => void {
  const db = new Database(fileOf(url));
  db.exec("BEGIN IMMEDIATE");
  return () => {
    db.exec("COMMIT");
    db.close();
  };
}

const harness: Harness = {
  dialect: "sqlite",
  freshUrl: async (label) => `sqlite:${dir.file(`${label}.db`)}`,
  setRaw: async (url, taskId, column, value) => {
    if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
    withDb(url, (db) => db.prepare(`UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`).run(value, taskId));
  },
  setRawGroup: async (url, groupId, value) => {
    withDb(url, (db) => db.prepare("UPDATE celery_tasksetmeta SET result = ? WHERE taskset_id = ?").run(value, groupId));
  },
  readDateDoneText: async (url, taskId) =>
    withDb(
      url,
      (db) => (db.prepare("SELECT date_done FROM celery_taskmeta WHERE task_id = ?").get(taskId) as { date_done: string }).date_done,
    ),
  insertCeleryStarted: async (url, taskId) => {
    withDb(url, (db) =>
      db
        .prepare("INSERT INTO celery_taskmeta (task_id, status, result, date_done, traceback) VALUES (?, 'STARTED', NULL, NULL, NULL)")
        .run(taskId),
    );
  },
  withTransientFault: async (url, operation) => {
    const release = holdWriteLock(url);
    const timer = setTimeout(release, 300);
    try {
      return await operation();
    } finally {
      clearTimeout(timer);
      try {
        release();
      } catch {
        // already released by the timer
      }
    }
  },
  persistentFault: async (url) => {
    const release = holdWriteLock(url);
    return { url, release: async () => release() };
  },
  exec: async (url, text) =>
    withDb(url, (db) => {
      const statement = db.prepare(text);
      if (statement.reader) return statement.all() as Record<string, unknown>[];
      statement.run();
      return [];
    }),
  awayableDatabase: async (label) => {
    const url = `sqlite:${dir.file(`${label}.db`)}`;
    await (await openBackend({ url })).close();
    let release: (() => void) | undefined;
    return {
      url,
      away: async () => {
        release = holdWriteLock(url);
      },
      back: async () => {
        release?.();
        release = undefined;
      },
    };
  },
  connectionCount: async () => 0,
  dropListeners: async () => 0,
  listenerCount: async () => 0,
  execRaw: async (url, statement) => {
    withDb(url, (db) => db.exec(statement));
  },
  countRows: async (url, table) => withDb(url, (db) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number),
  listen: async () => {
    throw new Error("SQLite has no LISTEN");
  },
  cleanup: async () => dir.remove(),
};

backendSuite(harness, false);
