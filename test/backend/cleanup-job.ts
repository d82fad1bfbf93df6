/**
 * The cleanup job on each dialect: overlap across backends counted at the database, expiry
 * with no command run, close() during a run, a failing run and the tick after it, and a process
 * left with only the job's timer exiting. Intervals below a minute use the job's test-only
 * escape hatch (allowShortIntervalForTests), so nothing sleeps for minutes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { ConfigError, states, type CleanupRun, type DatabaseBackend } from "../../src/index.js";
import { spyDriver } from "../helpers/driver-spy.js";
import { compiledFixture } from "../helpers/spawn.js";
import { hasFact } from "../helpers/harness.js";
import type { SuiteContext } from "./suite.js";

const DAY = 86_400_000;
// A test awaiting the job has nothing else keeping its event loop alive: the timer is kept ref'd here.
const SHORT = { allowShortIntervalForTests: true, keepProcessAlive: true } as const;

/** Resolves when `predicate` holds for a value pushed by `subscribe`'s callback. */
function until<T>(subscribe: (push: (value: T) => void) => void, predicate: (value: T) => boolean): Promise<T> {
  return new Promise((resolve) => subscribe((value) => predicate(value) && resolve(value)));
}

export function cleanupJobSuite(ctx: SuiteContext): void {
  describe("cleanup job", () => {
    async function storeAged(b: DatabaseBackend, count: number, ageMs: number): Promise<string[]> {
      const ids = Array.from({ length: count }, () => randomUUID());
      for (let i = 0; i < ids.length; i += 5_000) {
        await b.storeMany(
          ids.slice(i, i + 5_000).map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
          { now: new Date(Date.now() - ageMs) },
        );
      }
      return ids;
    }

    it("two backends with the job on one database never run a cleanup at the same time (counted at the database)", async () => {
      const url = await ctx.harness.migratedUrl("job_overlap");
      const spies = [spyDriver(), spyDriver()];
      const backends = [await ctx.openOver(url, {}, spies[0]!.over), await ctx.openOver(url, { migrate: false }, spies[1]!.over)];
      await ctx.harness.exec(url, "CREATE TABLE job_probe (active integer NOT NULL, peak integer NOT NULL, runs integer NOT NULL)");
      await ctx.harness.exec(url, "INSERT INTO job_probe VALUES (0, 0, 0)");
      // Each run, once inside the lock, marks itself active in the database and stays a moment,
      // so two runs that overlapped would leave peak = 2.
      for (const spy of spies) {
        spy.intercept("lock", async (take, name, options) => {
          const lock = await take(name, options);
          if (!lock) return lock;
          await ctx.harness.exec(
            url,
            // peak first: MySQL runs SET left to right, each assignment seeing the ones before it.
            "UPDATE job_probe SET peak = CASE WHEN active + 1 > peak THEN active + 1 ELSE peak END, active = active + 1, runs = runs + 1",
          );
          await new Promise((resolve) => setTimeout(resolve, 40));
          return {
            lost: () => lock.lost(),
            release: async () => {
              await ctx.harness.exec(url, "UPDATE job_probe SET active = active - 1");
              await lock.release();
            },
          };
        });
      }
      const runs: CleanupRun[] = [];
      let push: (run: CleanupRun) => void = () => undefined;
      const enough = until<CleanupRun>(
        (p) => (push = p),
        () => runs.length >= 10,
      );
      const errors: Error[] = [];
      // No jitter and no first-run delay: both fire together every time, the worst case.
      const jobs = backends.map((b) =>
        b.startCleanupJob({
          every: 150,
          jitter: 0,
          firstRunWithin: 0,
          ...SHORT,
          onRun: (run) => (runs.push(run), push(run)),
          onError: (e) => errors.push(e),
        }),
      );
      await enough;
      await Promise.all(jobs.map((job) => job.stop()));
      assert.deepEqual(errors, []);
      const ran = runs.filter((r) => !r.skipped).length;
      const skipped = runs.filter((r) => r.skipped);
      const [row] = await ctx.harness.exec(url, "SELECT active, peak, runs FROM job_probe");
      assert.equal(Number(row!["peak"]), 1, "two cleanups ran at the same time");
      assert.equal(Number(row!["active"]), 0);
      assert.equal(Number(row!["runs"]), ran);
      assert.ok(skipped.length > 0, "the jobs never met: the test proves nothing");
      assert.match(skipped[0]!.heldBy ?? "", /alive/);
    });

    it("rows expire with no command run: the job deletes them within its interval", async () => {
      const url = await ctx.harness.migratedUrl("job_expire");
      const b = await ctx.open(url, { resultExpires: "1d" });
      const old = await storeAged(b, 30, 2 * DAY);
      const fresh = await storeAged(b, 5, DAY / 2);
      let push: (run: CleanupRun) => void = () => undefined;
      const first = until<CleanupRun>(
        (p) => (push = p),
        (run) => run.deleted > 0,
      );
      const job = b.startCleanupJob({ every: 200, firstRunWithin: 500, ...SHORT, onRun: (run) => push(run) });
      const run = await first;
      assert.equal(run.deleted, 30);
      assert.equal(run.skipped, false);
      assert.match(run.kept, /results newer than 1d/);
      assert.ok(run.took >= 0);
      // Rows that expire later go at a later tick, still with nothing run by hand.
      const later = await storeAged(b, 7, 3 * DAY);
      const second = until<CleanupRun>(
        (p) => (push = p),
        (r) => r.deleted > 0,
      );
      assert.equal((await second).deleted, 7);
      await job.stop();
      assert.equal(job.active, false);
      const metas = await b.getManyTaskMeta([...old, ...later, ...fresh]);
      assert.equal([...metas.values()].filter((m) => !(m instanceof Error) && m.exists).length, 5);
    });

    it("close() during a run stops it at a batch boundary, leaves no half batch, and resolves", async () => {
      const url = await ctx.harness.migratedUrl("job_close");
      const b = await ctx.open(url);
      await storeAged(b, 3_000, 2 * DAY);
      const batches: number[] = [];
      const runs: CleanupRun[] = [];
      const errors: Error[] = [];
      let closing: Promise<void> | undefined;
      let closeCalled: () => void = () => undefined;
      const closeStarted = new Promise<void>((resolve) => (closeCalled = resolve));
      b.startCleanupJob({
        every: "1h",
        firstRunWithin: 0,
        batchSize: 100,
        pauseMs: 5,
        keepProcessAlive: true,
        onProgress: (p) => {
          batches.push(p.batch);
          if (batches.length === 3) {
            closing = b.close();
            closeCalled();
          }
        },
        onRun: (run) => runs.push(run),
        onError: (e) => errors.push(e),
      });
      await closeStarted;
      await closing;
      assert.deepEqual(errors, []);
      assert.equal(runs.length, 1, "the run reported once, before close() resolved");
      const report = runs[0]!.report!;
      assert.equal(report.complete, false);
      assert.ok(batches.length <= 4, `the run went on after close(): ${batches.length} batches`);
      assert.ok(
        batches.every((n) => n === 100),
        `a partial batch: ${batches}`,
      );
      assert.equal(
        report.tasks,
        batches.reduce((a, n) => a + n, 0),
      );
      const after = await ctx.open(url, { migrate: false });
      assert.equal(await after.audit.count({}), 3_000 - report.tasks, "rows deleted that the report does not count");
      await assert.rejects(b.getTaskMeta("x"), /closed/);
      assert.throws(() => b.startCleanupJob({ every: "1h" }), /closed/);
    });

    it(
      "a failing run (database briefly away) is reported through onError, and the next tick succeeds",
      {
        skip:
          !hasFact(ctx.harness, "awayableIsSame") &&
          "taking a Citus cluster away and back needs a cluster of its own; the harness's throwaway server is a single PostgreSQL, so this runs in the PostgreSQL suite",
      },
      async () => {
        const db = await ctx.harness.awayableDatabase("job_away");
        const b = await ctx.open(db.url, { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10 }, busyTimeoutMs: 10 });
        await storeAged(b, 20, 2 * DAY);
        await db.away();
        let back = false;
        let pushError: (e: Error) => void = () => undefined;
        let pushRun: (run: CleanupRun) => void = () => undefined;
        const failed = until<Error>(
          (p) => (pushError = p),
          () => true,
        );
        const succeeded = until<CleanupRun>(
          (p) => (pushRun = p),
          (run) => back && run.deleted > 0,
        );
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on("unhandledRejection", onUnhandled);
        try {
          const job = b.startCleanupJob({
            every: 200,
            jitter: 50,
            firstRunWithin: 0,
            ...SHORT,
            onRun: (run) => pushRun(run),
            onError: (e) => pushError(e),
          });
          const error = await failed;
          assert.match(error.message, /cleanup/);
          // Set before the restart: a tick can land between the server accepting connections and
          // db.back() returning, and that run is the one that deletes the 20 rows (the test hung
          // waiting for a later run that had nothing left to delete).
          back = true;
          await db.back();
          assert.equal((await succeeded).deleted, 20);
          await job.stop();
          assert.equal(await b.audit.count({}), 0);
          assert.deepEqual(unhandled, []);
        } finally {
          process.off("unhandledRejection", onUnhandled);
          await db.back();
        }
      },
    );

    it("a process whose only remaining handle is the job's timer exits on its own", async () => {
      const url = await ctx.harness.migratedUrl("job_exit");
      const child = spawn(process.execPath, [compiledFixture("cleanup-job-idle.ts"), url], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on("close", (c, s) => resolve([c, s])),
      );
      clearTimeout(kill);
      assert.equal(signal, null, `the job kept the process alive (killed after 30 s); stdout: ${stdout}`);
      assert.equal(code, 0, stderr);
      assert.match(stdout, /first run done, deleted 3/);
    });

    it("bad schedules are refused with a ConfigError saying why", async () => {
      const b = ctx.backend();
      assert.throws(
        () => b.startCleanupJob({ every: "30s" }),
        (e: unknown) => e instanceof ConfigError && /at most once a minute, got 30s/.test(e.message),
      );
      assert.throws(
        () => b.startCleanupJob({ every: "soon" }),
        (e: unknown) => e instanceof ConfigError && /cannot read duration "soon"/.test(e.message),
      );
      assert.throws(() => b.startCleanupJob({ every: "1h", jitter: "2h" }), /jitter: must be less than the interval/);
    });
  });
}
