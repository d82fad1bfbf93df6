/** The CLI suite (test/cli/suite.ts) on real SQLite files. */
import { cliSuite } from "./cli/suite.js";
import { sqliteHarness } from "./helpers/sqlite-harness.js";

cliSuite(await sqliteHarness("cli"), false);
