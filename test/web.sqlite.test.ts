/** The web view's API suite on real SQLite files (see test/web/suite.ts). */
import { sqliteHarness } from "./helpers/sqlite-harness.js";
import { webSuite } from "./web/suite.js";

webSuite(await sqliteHarness("web"), false);
