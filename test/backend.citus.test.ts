/**
 * The shared backend suite through a Citus coordinator (TASKLEDGER_TEST_CITUS_URL), every
 * database migrated and distributed (`migrate --distribute`) before the suite sees it.
 */
import { backendSuite } from "./backend/suite.js";
import { citusSkip, createCitusDatabase } from "./helpers/citus.js";
import { pgHarness } from "./helpers/pg-harness.js";

backendSuite(
  pgHarness((label, options) => createCitusDatabase(label, { bare: options?.empty }), { citus: true }),
  await citusSkip(),
);
