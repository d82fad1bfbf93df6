/** The web view in Chromium over real PostgreSQL (see test/browser/suite.ts). */
import { pgHarness } from "../helpers/pg-harness.js";
import { pgSkip } from "../helpers/pg.js";
import { browserSuite } from "./suite.js";

browserSuite(await pgHarness(), await pgSkip());
