/** The web view in Chromium over real PostgreSQL (see test/browser/suite.ts). */
import { browserSuite } from "./suite.js";

browserSuite("postgresql");
