/** `backend-cleanup --every`: a long-running cleanup that logs a line per run and stops cleanly on SIGTERM or SIGINT. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, cliProcess } from "../helpers/cli.js";
import { cleanupLockHolder } from "../helpers/driver-spy.js";
import type { CliContext } from "./context.js";

export function backendCleanupEverySuite(ctx: CliContext): void {
  describe("backend-cleanup --every", () => {
    it("backend-cleanup --every runs at once, logs one line per run, and exits 0 on SIGTERM", async () => {
      const { url: fresh } = await ctx.expiredRows("cli_every", 10);
      const running = cliProcess([
        "--url",
        fresh,
        "backend-cleanup",
        "--every",
        "200ms",
        "--jitter",
        "0",
        "--allow-short-interval-for-tests",
      ]);
      await running.stdoutUntil((out) => out.trim().split("\n").length >= 2);
      running.child.kill("SIGTERM");
      const result = await running.done;
      assert.equal(result.signal, null);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split("\n");
      assert.match(
        lines[0]!,
        /^backend-cleanup: deleted 10 expired task rows, 0 group rows, 0 stale unready rows in .*; kept results newer than/,
      );
      assert.match(lines[1]!, /^backend-cleanup: deleted 0 expired task rows/);
      assert.match(result.stderr, /every 200ms .*SIGTERM or Ctrl-C stops it/);
      assert.match(result.stderr, /SIGTERM, stopping at the next batch boundary/);
    });

    it("backend-cleanup --every stopped by SIGINT during a run exits 0 between batches, and the log line counts exactly what went", async () => {
      const { url: fresh, backend: b } = await ctx.expiredRows("cli_every_int", 20_000);
      const running = cliProcess(["--url", fresh, "--json", "backend-cleanup", "--every", "1h", "--batch-size", "1"]);
      const holder = await ctx.lockHeld(fresh);
      assert.ok(holder, `the run never started: ${running.stderr()}`);
      running.child.kill("SIGINT");
      const result = await running.done;
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].complete, false, "the run was stopped before the end");
      assert.equal(await b.audit.count({}), 20_000 - lines[0].tasks);
      assert.equal(await cleanupLockHolder(fresh), undefined, "the lock was released");
    });

    // Refused before the database is opened; in-process, so cheap enough to run on every dialect.
    it("backend-cleanup --every refuses a short interval, a non-duration, --dry-run, --wait and a stray --jitter with exit 2 and why", async () => {
      const cases: [string[], RegExp][] = [
        [["--every", "30s"], /--every: cleanup runs at most once a minute, got 30s/],
        [["--every", "soon"], /--every: cannot read duration "soon"/],
        [["--every", "1h", "--dry-run"], /--every: cannot be combined with --dry-run: a dry run counts once/],
        [["--every", "1h", "--wait"], /--every: cannot be combined with --wait/],
        [["--jitter", "5m"], /--jitter: only applies with --every/],
        [["--every", "1h", "--jitter", "2h"], /--jitter: must be less than the interval/],
      ];
      for (const [args, why] of cases) {
        const result = await cli(["--url", ctx.url(), "backend-cleanup", ...args]);
        assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, why);
      }
    });
  });
}
