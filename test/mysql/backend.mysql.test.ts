/** The shared backend suite (test/backend/suite.ts) on a real MariaDB/MySQL server, one database per use. */
import { backendSuite } from "../backend/suite.js";
import { mysqlHarness } from "../helpers/mysql-harness.js";
import { mysqlSkip } from "../helpers/mysql.js";

backendSuite(await mysqlHarness(), await mysqlSkip());
