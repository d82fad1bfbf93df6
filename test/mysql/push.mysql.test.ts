/** Status handler and webhooks on a real MariaDB/MySQL server, one fresh database per test. */
import { pushSuite } from "../push/suite.js";
import { mysqlHarness } from "../helpers/mysql-harness.js";
import { mysqlSkip } from "../helpers/mysql.js";

pushSuite(await mysqlHarness(), await mysqlSkip());
