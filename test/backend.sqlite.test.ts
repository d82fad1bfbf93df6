/** The shared backend suite (test/backend/suite.ts) on real SQLite files, one file per use. */
import { backendSuite } from "./backend/suite.js";
import { sqliteHarness } from "./helpers/sqlite-harness.js";

backendSuite(await sqliteHarness("backend"), false);
