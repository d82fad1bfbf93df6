/** The web view's API suite (test/web/suite.ts) through a Citus coordinator, tables distributed. */
import { citusHarness, citusSkip } from "../helpers/citus.js";
import { webSuite } from "../web/suite.js";

webSuite(await citusHarness(), await citusSkip());
