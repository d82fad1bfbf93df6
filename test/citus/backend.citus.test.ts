/** The shared backend suite (test/backend/suite.ts) through a Citus coordinator, tables distributed. */
import { backendSuite } from "../backend/suite.js";
import { citusHarness, citusSkip } from "../helpers/citus.js";

backendSuite(await citusHarness(), await citusSkip());
