/**
 * The Celery interop suite on MariaDB: Python Celery (SQLAlchemy 1.4 over PyMySQL) and taskledger
 * on one database, Celery's tables both ways (Celery's BLOB/TEXT/DATETIME adopted, taskledger's
 * LONGBLOB/LONGTEXT/DATETIME(6) read by Celery).
 */
import { spawnSync } from "node:child_process";
import { celeryInteropSuite } from "./suite.js";
import { celerySkip } from "../helpers/celery.js";
import { createTestDatabase, mysqlSkip, queryDatabase, type TestDatabase } from "../helpers/mysql.js";

const databases: TestDatabase[] = [];

/** Celery reaches MariaDB through PyMySQL (python3-pymysql). */
function pymysqlSkip(): string | false {
  const python = process.env["TASKLEDGER_CELERY_PYTHON"] ?? "/usr/bin/python3";
  if (spawnSync(python, ["-c", "import pymysql"]).status === 0) return false;
  const reason = `PyMySQL is not importable by ${python} (apt-get install -y python3-pymysql)`;
  if (process.env["CI"] === "true") throw new Error(`the Celery interop tests are mandatory under CI=true: ${reason}`);
  console.log(`# ${reason}; Celery interop on MySQL skipped`);
  return reason;
}

const skip = (await mysqlSkip()) || celerySkip() || pymysqlSkip();
celeryInteropSuite(
  {
    dialect: "mysql",
    freshUrl: async (label) => {
      const db = await createTestDatabase(label);
      databases.push(db);
      return `db+mysql+pymysql://${db.url.replace(/^mysql:\/\//, "")}`;
    },
    // Celery 4.3's DDL as SQLAlchemy 1.4 emits it on MariaDB: sequences, BLOB, TEXT, DATETIME, no date_done index.
    createCelery43Tables: async (url) => {
      const plain = url.replace(/^db\+mysql\+pymysql:/, "mysql:");
      await queryDatabase(plain, "CREATE SEQUENCE task_id_sequence");
      await queryDatabase(plain, "CREATE SEQUENCE taskset_id_sequence");
      await queryDatabase(
        plain,
        `CREATE TABLE celery_taskmeta (id INTEGER NOT NULL, task_id VARCHAR(155), status VARCHAR(50), result BLOB,
      date_done DATETIME, traceback TEXT, PRIMARY KEY (id), UNIQUE (task_id))`,
      );
      await queryDatabase(
        plain,
        `CREATE TABLE celery_tasksetmeta (id INTEGER NOT NULL, taskset_id VARCHAR(155), result BLOB,
      date_done DATETIME, PRIMARY KEY (id), UNIQUE (taskset_id))`,
      );
    },
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
    },
  },
  skip,
);
