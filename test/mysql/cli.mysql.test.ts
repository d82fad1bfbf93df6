/** The CLI suite (test/cli/suite.ts) on a real MariaDB/MySQL server. */
import { cliSuite } from "../cli/suite.js";
import { mysqlHarness } from "../helpers/mysql-harness.js";
import { mysqlSkip } from "../helpers/mysql.js";

cliSuite(await mysqlHarness(), await mysqlSkip());
