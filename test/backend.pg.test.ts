/** The shared backend suite on a real PostgreSQL server, one fresh database per use. */
import { backendSuite } from "./backend/suite.js";
import { pgHarness } from "./helpers/pg-harness.js";
import { createTestDatabase, pgSkip } from "./helpers/pg.js";

backendSuite(pgHarness(createTestDatabase), await pgSkip());
