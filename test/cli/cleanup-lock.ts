/**
 * The cleanup lock from the CLI: a second run is refused (exit 3) or waits with --wait, two runs
 * at once contend, and a run killed with -9 does not block the next.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { cli, cliProcess } from "../helpers/cli.js";
import { cleanupLockHolder, takeCleanupLock } from "../helpers/driver-spy.js";
import type { CliContext } from "./context.js";

export function cleanupLockSuite(ctx: CliContext): void {
  describe("backend-cleanup and the cleanup lock", () => {
    // For the two tests that hold the lock themselves: the waiting run then cleans up for real.
    let url = "";
    before(async () => {
      ({ url } = await ctx.freshStore("cli_lock"));
    });

    it("a cleanup started while another holds the lock exits 3 saying another backend-cleanup is running", async () => {
      const lock = await takeCleanupLock(url);
      assert.ok(lock);
      try {
        const refused = await cli(["--url", url, "backend-cleanup"]);
        assert.equal(refused.code, 3, refused.stderr);
        assert.match(refused.stderr, /another backend-cleanup is running/);
      } finally {
        await lock.release();
      }
    });

    it("backend-cleanup --wait waits while another holds the lock, then runs to completion", async () => {
      const lock = await takeCleanupLock(url);
      assert.ok(lock);
      try {
        let finished = false;
        const waiting = cli(["--url", url, "--json", "backend-cleanup", "--wait"]).finally(() => (finished = true));
        if (ctx.harness.capabilities.sessionLocks) {
          // The server shows the waiting run blocked on the lock.
          await ctx.harness.untilLockWaiters(url, 1);
        } else {
          // A lease is polled, which nothing outside shows: long enough for a run that ignored the
          // lock to be done (~20 ms here, a few hundred on a loaded machine); --wait must not be.
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
        assert.equal(finished, false, "the waiting cleanup ran while the lock was held");
        await lock.release();
        const waited = await waiting;
        assert.equal(waited.code, 0, waited.stderr);
        assert.equal(JSON.parse(waited.stdout).complete, true);
      } finally {
        await lock.release();
      }
    });

    it("a backend-cleanup killed with -9 does not block the next run: a lease is taken over at once, a session lock was released by the server", async () => {
      const { url: fresh, backend: b } = await ctx.expiredRows("cli_kill", 20_000);
      // One row per batch keeps the killed run inside its lock long enough to be caught there.
      const victim = cliProcess(["--url", fresh, "backend-cleanup", "--batch-size", "1"]);
      const holder = await ctx.lockHeld(fresh);
      assert.ok(holder, `the run never held the lock: ${victim.stderr()}`);
      victim.child.kill("SIGKILL");
      assert.equal((await victim.done).signal, "SIGKILL");
      if (ctx.harness.capabilities.sessionLocks) {
        // The server ends the session of a vanished client, and its lock with it.
        for (let i = 0; i < 500 && (await cleanupLockHolder(fresh)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      } else {
        // A lease row outlives its process: it names the holder as gone.
        assert.match((await cleanupLockHolder(fresh))!, /which is no longer running/);
      }
      const next = await cli(["--url", fresh, "backend-cleanup"]);
      assert.equal(next.code, 0, next.stderr);
      if (!ctx.harness.capabilities.sessionLocks)
        assert.match(
          next.stderr,
          new RegExp(`took over the cleanup lock from pid ${victim.child.pid} on this host .*which is no longer running`),
        );
      assert.equal(await b.audit.count({}), 0);
    });

    it("two cleanups at once contend for the lock: the second, started while the first holds it, is refused and the first deletes everything", async () => {
      // Exit codes [0, 0] are what two runs without any lock give, so the test requires contention:
      // the second starts only once the first is seen holding the lock, while it still runs.
      const { url: fresh, backend: b } = await ctx.expiredRows("cli_cleanup_contended", 20_000);
      let firstDone = false;
      // A separate process (in-process runs take turns), as two cron jobs would be.
      const first = cli(["--url", fresh, "--json", "backend-cleanup", "--batch-size", "200"], { subprocess: true }).finally(
        () => (firstDone = true),
      );
      assert.ok(await ctx.lockHeld(fresh), "the first cleanup took the lock");
      assert.equal(firstDone, false, "the first cleanup still runs (else raise the row count)");
      const second = await cli(["--url", fresh, "backend-cleanup"]);
      assert.equal(second.code, 3, `the second cleanup was not refused: ${second.stderr}`);
      assert.match(second.stderr, /another backend-cleanup is running/);
      const done = await first;
      assert.equal(done.code, 0, done.stderr);
      assert.equal(JSON.parse(done.stdout).tasks, 20_000);
      assert.equal(await b.audit.count({}), 0);
    });
  });
}
