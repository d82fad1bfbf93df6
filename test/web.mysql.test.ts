/** The web view's API suite on real MariaDB/MySQL, one fresh database (see test/web/suite.ts). */
import { webSuite } from "./web/suite.js";

webSuite("mysql");
