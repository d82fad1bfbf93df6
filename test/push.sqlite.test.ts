/** Status handler and webhooks on real SQLite files, one per test. */
import { pushSuite } from "./push/suite.js";
import { sqliteHarness } from "./helpers/sqlite-harness.js";

pushSuite(await sqliteHarness("push"), false);
