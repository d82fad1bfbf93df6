/** Status handler and webhooks on real SQLite files, one per test. */
import Database from "better-sqlite3";
import { pushSuite } from "./push/suite.js";
import { tempDir } from "./helpers/sqlite.js";

const dir = tempDir("push");

pushSuite(
  {
    dialect: "sqlite",
    freshUrl: async (label) => `sqlite:${dir.path}/${label}-${Date.now()}.db`,
    execRaw: async (url, statement) => {
      const db = new Database(url.replace(/^sqlite:/, ""));
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    },
    cleanup: async () => dir.remove(),
  },
  false,
);
