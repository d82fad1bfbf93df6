/** The shared backend suite (test/backend/suite.ts) on a real PostgreSQL server, one database per use. */
import { backendSuite } from "./backend/suite.js";
import { pgHarness } from "./helpers/pg-harness.js";
import { pgSkip } from "./helpers/pg.js";

backendSuite(await pgHarness(), await pgSkip());
