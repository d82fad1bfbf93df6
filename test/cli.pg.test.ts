/** The CLI suite (test/cli/suite.ts) on a real PostgreSQL server. */
import { cliSuite } from "./cli/suite.js";
import { pgHarness } from "./helpers/pg-harness.js";
import { pgSkip } from "./helpers/pg.js";

cliSuite(await pgHarness(), await pgSkip());
