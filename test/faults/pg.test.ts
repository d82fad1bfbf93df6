/**
 * The PostgreSQL half of the fault suite, on one throwaway cluster of its own (initdb on
 * FAULT_PG_PORT, default 29010) that the scenarios restart, crash and kill connections of. The
 * shared server is never touched. Scenarios run in order; the ones that restart the server come
 * last so the others never see an outage they did not cause. Each prints `# FIGURE` lines.
 */
import { after, before, describe } from "node:test";
import { clusterUnavailable, startCluster, type Cluster } from "./helpers/cluster.js";
import { killCleanupScenario } from "./scenarios/kill-cleanup.js";
import { killStoreManyScenario } from "./scenarios/kill-store-many.js";
import { racesScenario } from "./scenarios/races.js";
import { waitersScenario } from "./scenarios/restart-waiters.js";
import { writersScenario } from "./scenarios/restart-writers.js";

const unavailable = clusterUnavailable();
if (unavailable && process.env["CI"] === "true") throw new Error(`the fault suite is mandatory under CI=true: ${unavailable}`);
if (unavailable) console.log(`# fault suite skipped: ${unavailable}`);

describe("faults on a throwaway PostgreSQL cluster (and the same scenarios on SQLite)", { skip: unavailable ?? false }, () => {
  let cluster: Cluster | undefined;
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await cluster?.stop();
  });
  const shared = () => cluster!;
  racesScenario(shared);
  killStoreManyScenario(shared);
  killCleanupScenario(shared);
  writersScenario(shared);
  waitersScenario(shared);
});
