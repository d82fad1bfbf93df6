/**
 * The CLI suite: every command, on each dialect, by a few-line file (cli.pg.test.ts,
 * cli.sqlite.test.ts) that supplies a Harness. One file per command or concern, each a function
 * of the CliContext; commands run in-process through the program main.ts runs (test/helpers/cli.ts)
 * unless the test is about the process itself (signals, pipes, memory, a second cron job).
 */
import { after, before, describe } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import type { Harness } from "../helpers/harness.js";
import { archiveSuite } from "./archive.js";
import { backendCleanupEverySuite } from "./backend-cleanup-every.js";
import { backendCleanupSuite } from "./backend-cleanup.js";
import { cleanupLockSuite } from "./cleanup-lock.js";
import { cliContext } from "./context.js";
import { corruptRowsSuite } from "./corrupt-rows.js";
import { exportSuite } from "./export.js";
import { forgetSuite } from "./forget.js";
import { groupsSuite } from "./groups.js";
import { holdSuite } from "./hold.js";
import { listSuite } from "./list.js";
import { migrateSuite } from "./migrate.js";
import { pipesSuite } from "./pipes.js";
import { retentionInputSuite } from "./retention-input.js";
import { retentionWordsSuite } from "./retention-words.js";
import { retryBudgetSuite } from "./retry-budget.js";
import { secretsSuite } from "./secrets.js";
import { showSuite } from "./show.js";
import { statsSuite } from "./stats.js";
import { usageErrorsSuite } from "./usage-errors.js";

export function cliSuite(harness: Harness, skip: string | false): void {
  describe(`taskledger CLI on ${harness.dialect}`, { skip }, () => {
    const shared: { url: string; backend?: DatabaseBackend } = { url: "" };
    const opened: DatabaseBackend[] = [];
    before(async () => {
      shared.url = await harness.migratedUrl("cli");
      shared.backend = await openBackend({ url: shared.url, resultExtended: true });
      opened.push(shared.backend);
    });
    after(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await harness.cleanup();
    });
    const ctx = cliContext(harness, shared, opened);
    migrateSuite(ctx);
    showSuite(ctx);
    listSuite(ctx);
    statsSuite(ctx);
    forgetSuite(ctx);
    groupsSuite(ctx);
    backendCleanupSuite(ctx);
    retentionWordsSuite(ctx);
    retentionInputSuite(ctx);
    holdSuite(ctx);
    archiveSuite(ctx);
    cleanupLockSuite(ctx);
    backendCleanupEverySuite(ctx);
    corruptRowsSuite(ctx);
    usageErrorsSuite(ctx);
    secretsSuite(ctx);
    retryBudgetSuite();
    pipesSuite(ctx);
    exportSuite(ctx);
  });
}
