/** The CLI suite (test/cli/suite.ts) through a Citus coordinator, tables distributed. */
import { cliSuite } from "../cli/suite.js";
import { citusHarness, citusSkip } from "../helpers/citus.js";

cliSuite(await citusHarness(), await citusSkip());
