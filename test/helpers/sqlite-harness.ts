/**
 * The Harness on real SQLite files (test/helpers/harness.ts): each database a suite asks for is
 * its own file in a temp directory that cleanup() removes.
 */
import { copyFileSync, existsSync } from "node:fs";
import Database from "better-sqlite3";
import { openBackend } from "../../src/index.js";
import { readMigrations } from "../../src/db/migrations.js";
import { capabilitiesAt, type Harness } from "./harness.js";
import { tempDir } from "./sqlite.js";

const COLUMNS = new Set(["result", "args", "kwargs", "children", "traceback"]);
const fileOf = (url: string) => url.replace(/^sqlite:/, "");

function withDb<T>(url: string, run: (db: Database.Database) => T): T {
  const db = new Database(fileOf(url));
  try {
    return run(db);
  } finally {
    db.close();
  }
}

/** Another connection holding the write lock (BEGIN IMMEDIATE) until the returned function is called. */
function holdWriteLock(url: string): () => void {
  const db = new Database(fileOf(url));
  db.exec("BEGIN IMMEDIATE");
  return () => {
    db.exec("COMMIT");
    db.close();
  };
}

const noSuch = (what: string) => () => Promise.reject(new Error(`SQLite has no ${what}: the test should have skipped on capabilities`));

/** A SQLite harness whose files live under a temp directory named for `label`. */
export async function sqliteHarness(label: string): Promise<Harness> {
  const capabilities = await capabilitiesAt("sqlite::memory:", (url) => openBackend({ url, migrate: false }));
  const dir = tempDir(label);
  let template: Promise<string> | undefined;
  const freshUrl = async (name: string) => `sqlite:${dir.file(`${name}.db`)}`;

  return {
    dialect: "sqlite",
    capabilities,
    freshUrl,
    migratedUrl: async (name) => {
      template ??= (async () => {
        const url = await freshUrl("template");
        await (await openBackend({ url })).close();
        // Closing the last connection checkpoints the WAL into the file and removes it.
        if (existsSync(`${fileOf(url)}-wal`)) throw new Error("the template's WAL outlived its connection");
        return fileOf(url);
      })();
      const url = await freshUrl(name);
      copyFileSync(await template, fileOf(url));
      return url;
    },
    copyOf: async (url, name) => {
      // Closing the last connection checkpointed the WAL into the file: the file is the database.
      if (existsSync(`${fileOf(url)}-wal`)) throw new Error(`${url} is still open: close its connections before copying it`);
      const copy = await freshUrl(name);
      copyFileSync(fileOf(url), fileOf(copy));
      return copy;
    },
    migrationTags: () => readMigrations("sqlite").map((m) => m.tag),
    cleanup: async () => {
      template = undefined;
      dir.remove();
    },
    transientError: () => Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }),
    liveLockHolder: () => new RegExp(`pid ${process.pid} on this host .*which is alive`),
    // A file path cannot carry a password.
    withPassword: (url) => url,
    secretUrlForms: (url, secret) => [
      { label: "Celery's SQLite URL with ?password=", argv: ["--url", `db+sqlite:///${fileOf(url)}?password=${secret}`] },
    ],
    setRaw: async (url, taskId, column, value) => {
      // The named column, checked against a list (it is spliced into the statement).
      if (!COLUMNS.has(column)) throw new Error(`unknown column ${column}`);
      withDb(url, (db) => db.prepare(`UPDATE celery_taskmeta SET ${column} = ? WHERE task_id = ?`).run(value, taskId));
    },
    setRawGroup: async (url, groupId, value) => {
      withDb(url, (db) => db.prepare("UPDATE celery_tasksetmeta SET result = ? WHERE taskset_id = ?").run(value, groupId));
    },
    // SQLite keeps any storage class in any column.
    wrongTypeValues: () => ({
      "text-result": ["result", "plain text"],
      "integer-result": ["result", 42],
      "blob-traceback": ["traceback", Buffer.from("tb")],
    }),
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
    execRaw: async (url, statement) => {
      withDb(url, (db) => db.exec(statement));
    },
    countRows: async (url, table) => withDb(url, (db) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number),
    awayableDatabase: async (name) => {
      const url = await freshUrl(name);
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
    // Nothing is pushed, so no connection waits for it.
    dropListeners: async () => 0,
    listenerCount: async () => 0,
    listen: noSuch("pushed changes"),
    untilLockWaiters: noSuch("concurrent writers"),
    openArchiveMove: noSuch("concurrent writers"),
    partitionsOf: noSuch("partitions"),
    holdReader: noSuch("partitions"),
  };
}
