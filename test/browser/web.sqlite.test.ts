/** The web view in Chromium over a real SQLite file (see test/browser/suite.ts). */
import { browserSuite } from "./suite.js";

browserSuite("sqlite");
