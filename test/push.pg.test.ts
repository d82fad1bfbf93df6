/** Status handler and webhooks on a real PostgreSQL server, one fresh database per test. */
import { pushSuite } from "./push/suite.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "./helpers/pg.js";

const databases: TestDatabase[] = [];

pushSuite(
  {
    dialect: "postgresql",
    freshUrl: async (label) => {
      const db = await createTestDatabase(`push_${label}`);
      databases.push(db);
      return db.url;
    },
    execRaw: async (url, statement) => {
      await queryDatabase(url, statement);
    },
    cleanup: async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()));
    },
  },
  await pgSkip(),
);
