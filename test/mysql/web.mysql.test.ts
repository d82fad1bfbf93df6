/** The web view's API suite on real MariaDB/MySQL (see test/web/suite.ts). */
import { mysqlHarness } from "../helpers/mysql-harness.js";
import { mysqlSkip } from "../helpers/mysql.js";
import { webSuite } from "../web/suite.js";

webSuite(await mysqlHarness(), await mysqlSkip());
