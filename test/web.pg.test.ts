/** The web view's API suite on real PostgreSQL (see test/web/suite.ts). */
import { pgHarness } from "./helpers/pg-harness.js";
import { pgSkip } from "./helpers/pg.js";
import { webSuite } from "./web/suite.js";

webSuite(await pgHarness(), await pgSkip());
