/**
 * The shared backend suite: every backend behaviour, run on each dialect by a ~40-line file
 * (backend.sqlite.test.ts, backend.pg.test.ts) that supplies a Harness.
 */
import { after, afterEach, before, beforeEach, describe } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { openBackendOver } from "../../src/backend/open-backend.js";
import type { Harness, OpenFor, OpenOver } from "../helpers/harness.js";
import { cleanupJobSuite } from "./cleanup-job.js";
import { celerySemanticsSuite } from "./celery-semantics.js";
import { clientSuite } from "./client.js";
import { expirySuite } from "./expiry.js";
import { faultSuite } from "./faults.js";
import { groupSuite } from "./group.js";
import { historySuite } from "./history.js";
import { precedenceSuite } from "./precedence.js";
import { retentionSuite } from "./retention.js";
import { archiveSuite } from "./archive.js";
import { archiveTiersSuite } from "./archive-tiers.js";
import { schemaErrorSuite } from "./schema-errors.js";
import { storeReadSuite } from "./store-read.js";

export interface SuiteContext {
  harness: Harness;
  /** The suite's shared, migrated database. */
  url: () => string;
  open: OpenFor;
  /** open() with the driver passed through `over` (a spyDriver's): to count or fail driver calls. */
  openOver: OpenOver;
  /** A backend on the shared database with resultExtended on. */
  backend: () => DatabaseBackend;
}

export function backendSuite(harness: Harness, skip: string | false): void {
  describe(`backend on ${harness.citus ? "Citus" : harness.dialect}`, { skip }, () => {
    let url = "";
    let shared: DatabaseBackend | undefined;
    // Backends a test opens are closed when it ends; those a sub-suite's before() opens, when
    // the whole suite does. Each open backend keeps a connection, and with test files run two
    // at a time, ~60 left open until the end came within reach of max_connections.
    const opened: DatabaseBackend[] = [];
    let openedByTest: DatabaseBackend[] | undefined;
    const keep = (backend: DatabaseBackend) => {
      (openedByTest ?? opened).push(backend);
      return backend;
    };
    const open: OpenFor = async (target, options = {}) => keep(await openBackend({ url: target, ...options }));
    const openOver: OpenOver = async (target, options, over) => keep(await openBackendOver({ url: target, ...options }, over));
    beforeEach(() => {
      openedByTest = [];
    });
    afterEach(async () => {
      const mine = openedByTest ?? [];
      openedByTest = undefined;
      await Promise.all(mine.map((b) => b.close()));
    });
    before(async () => {
      url = await harness.freshUrl("suite");
      shared = await open(url, { resultExtended: true });
    });
    after(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await harness.cleanup();
    });
    const context: SuiteContext = { harness, url: () => url, open, openOver, backend: () => shared! };
    storeReadSuite(context);
    precedenceSuite(context);
    groupSuite(context);
    expirySuite(context);
    cleanupJobSuite(context);
    retentionSuite(context);
    archiveSuite(context);
    archiveTiersSuite(context);
    faultSuite(context);
    clientSuite(context);
    celerySemanticsSuite(context);
    historySuite(context);
    schemaErrorSuite(context);
  });
}
