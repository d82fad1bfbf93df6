/** The Celery interop suite on one SQLite file shared by Python Celery and taskledger. */
import Database from "better-sqlite3";
import { celeryInteropSuite } from "./suite.js";
import { celerySkip } from "../helpers/celery.js";
import { tempDir } from "../helpers/sqlite.js";

const dir = tempDir("celery");
celeryInteropSuite(
  {
    dialect: "sqlite",
    // Celery's form: db+sqlite:/// plus an absolute path (four slashes in all).
    freshUrl: async (label) => `db+sqlite:///${dir.file(`${label}.db`)}`,
    createCelery43Tables: async (url) => {
      const db = new Database(url.replace("db+sqlite:///", ""));
      db.exec(`CREATE TABLE celery_taskmeta (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, task_id VARCHAR(155), status VARCHAR(50),
               result BLOB, date_done DATETIME, traceback TEXT, UNIQUE (task_id));
             CREATE TABLE celery_tasksetmeta (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, taskset_id VARCHAR(155), result BLOB,
               date_done DATETIME, UNIQUE (taskset_id));`);
      db.close();
    },
    cleanup: async () => dir.remove(),
  },
  celerySkip(),
);
