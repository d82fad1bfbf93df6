/** The web view's API suite on a real SQLite file (see test/web/suite.ts). */
import { webSuite } from "./web/suite.js";

webSuite("sqlite");
