/** Status handler and webhooks on a real PostgreSQL server, one fresh database per test. */
import { pushSuite } from "./push/suite.js";
import { pgHarness } from "./helpers/pg-harness.js";
import { pgSkip } from "./helpers/pg.js";

pushSuite(await pgHarness(), await pgSkip());
