/** The web view in Chromium over a real SQLite file (see test/browser/suite.ts). */
import { sqliteHarness } from "../helpers/sqlite-harness.js";
import { browserSuite } from "./suite.js";

browserSuite(await sqliteHarness("web_browser"), false);
