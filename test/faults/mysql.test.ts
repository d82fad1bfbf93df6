/**
 * The MariaDB half of the fault suite, on a throwaway server of its own (FAULT_MYSQL_PORT, default
 * 29110) that the scenarios stop cleanly, kill -9 and start again; the shared server on 3306 is
 * never touched: writers across a restart and a crash lose nothing acknowledged, and a kill -9
 * inside storeMany leaves all of the batch or none of it.
 */
import { after, before, describe } from "node:test";
import { mysqlServerUnavailable } from "../helpers/mysql-server.js";
import type { Cluster } from "./helpers/cluster.js";
import { startMysqlCluster } from "./helpers/mysql-cluster.js";
import { killStoreManyOn } from "./scenarios/kill-store-many.js";
import { writersScenario } from "./scenarios/restart-writers.js";

const unavailable = mysqlServerUnavailable();
if (unavailable && process.env["CI"] === "true") throw new Error(`the MariaDB fault suite is mandatory under CI=true: ${unavailable}`);
if (unavailable) console.log(`# MariaDB fault suite skipped: ${unavailable}`);

describe("faults on a throwaway MariaDB server", { skip: unavailable ?? false }, () => {
  let cluster: Cluster | undefined;
  before(async () => {
    cluster = await startMysqlCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  const shared = () => cluster!;
  killStoreManyOn(shared, "MariaDB");
  writersScenario(shared, "MariaDB");
});
