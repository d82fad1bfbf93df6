/** The Celery interop suite on PostgreSQL: Python Celery and taskledger on one database. */
import { celeryInteropSuite } from "./suite.js";
import { celerySkip } from "../helpers/celery.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "../helpers/pg.js";

const databases: TestDatabase[] = [];
const pg = await pgSkip();
celeryInteropSuite(
  {
    dialect: "postgresql",
    freshUrl: async (label) => {
      const db = await createTestDatabase(label);
      databases.push(db);
      return `db+${db.url.replace(/^postgres:/, "postgresql:")}`; // SQLAlchemy knows only postgresql://
    },
    // Celery 4.3's DDL (Celery issue #4653 shows it): six columns, sequences, no date_done index.
    createCelery43Tables: async (url) => {
      const plain = url.replace(/^db\+/, "");
      await queryDatabase(plain, "CREATE SEQUENCE task_id_sequence");
      await queryDatabase(plain, "CREATE SEQUENCE taskset_id_sequence");
      await queryDatabase(
        plain,
        `CREATE TABLE celery_taskmeta (id INTEGER NOT NULL, task_id VARCHAR(155), status VARCHAR(50), result BYTEA,
      date_done TIMESTAMP WITHOUT TIME ZONE, traceback TEXT, PRIMARY KEY (id), UNIQUE (task_id))`,
      );
      await queryDatabase(
        plain,
        `CREATE TABLE celery_tasksetmeta (id INTEGER NOT NULL, taskset_id VARCHAR(155), result BYTEA,
      date_done TIMESTAMP WITHOUT TIME ZONE, PRIMARY KEY (id), UNIQUE (taskset_id))`,
      );
    },
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
    },
  },
  pg || celerySkip(),
);
