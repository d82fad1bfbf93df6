/** The web view's API suite through a Citus coordinator, tables distributed (see test/web/suite.ts). */
import { webSuite } from "./web/suite.js";

webSuite("citus");
