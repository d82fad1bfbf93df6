/**
 * The CLI, run as a subprocess from its build, on each dialect: exit codes, --json output,
 * cleanup's dry run, retention and lock, masked passwords, and export's memory.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openBackend, states, type DatabaseBackend } from "../../src/index.js";
import { bufferOutput } from "../../src/cli/output.js";
import { buildProgram } from "../../src/cli/program.js";
import { cli, cliProcess } from "../helpers/cli.js";
import { cleanupLockHolder, takeCleanupLock, withDriver } from "../helpers/driver-spy.js";
import { readMigrations } from "../../src/db/migrations.js";
import type { Harness } from "../helpers/harness.js";

const DAY = 86_400_000;

export function cliSuite(harness: Harness, skip: string | false, options: { withPassword: (url: string) => string }): void {
  describe(`taskledger CLI on ${harness.citus ? "Citus" : harness.dialect}`, { skip }, () => {
    let url = "";
    let backend: DatabaseBackend;
    const opened: DatabaseBackend[] = [];
    before(async () => {
      url = await harness.freshUrl("cli");
      backend = await openBackend({ url, resultExtended: true });
      opened.push(backend);
    });
    after(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await harness.cleanup();
    });

    /** A fresh database holding `count` results that expired days ago. */
    async function expiredRows(label: string, count: number): Promise<{ url: string; backend: DatabaseBackend }> {
      const fresh = await harness.freshUrl(label);
      const b = await openBackend({ url: fresh });
      opened.push(b);
      for (let i = 0; i < count; i += 5_000) {
        await b.storeMany(
          Array.from({ length: Math.min(5_000, count - i) }, () => ({ taskId: randomUUID(), status: states.SUCCESS, result: 1 })),
          { now: new Date(Date.now() - 10 * DAY) },
        );
      }
      return { url: fresh, backend: b };
    }

    /** Who holds the cleanup lock, once someone does (a database state, so it is polled); undefined after 15 s. */
    async function lockHeld(target: string): Promise<string | undefined> {
      return withDriver(target, async (driver) => {
        for (let i = 0; i < 3_000; i++) {
          const holder = await driver.lockHolder("cleanup");
          if (holder) return holder;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return undefined;
      });
    }

    it(
      "migrate applies once and is idempotent; --check reports pending migrations with exit 1",
      {
        skip:
          harness.citus &&
          "the Citus harness hands out databases already migrated and distributed; test/citus.citus.test.ts runs migrate --distribute on bare ones",
      },
      async () => {
        const fresh = await harness.freshUrl("cli_migrate");
        if (harness.dialect === "sqlite") await (await openBackend({ url: fresh, migrate: false })).close();
        const pending = await cli(["--url", fresh, "--json", "migrate", "--check"]);
        assert.equal(pending.code, 1, pending.stderr);
        assert.deepEqual(
          JSON.parse(pending.stdout).pending,
          readMigrations(harness.dialect).map((m) => m.tag),
        );
        const applied = await cli(["--url", fresh, "migrate"]);
        assert.equal(applied.code, 0, applied.stderr);
        assert.match(applied.stdout, /applied 0000_init, /);
        const again = await cli(["--url", fresh, "--json", "migrate"]);
        assert.equal(again.code, 0);
        assert.deepEqual(JSON.parse(again.stdout).appliedNow, []);
        const check = await cli(["--url", fresh, "migrate", "--check"]);
        assert.equal(check.code, 0);
        assert.match(check.stdout, /up to date/);
      },
    );

    it(
      "a fresh migrate, run as a process the way cron runs it, prints nothing on stderr: no driver warning",
      {
        skip:
          harness.citus &&
          "the Citus harness hands out databases already migrated and distributed; test/citus.citus.test.ts runs migrate --distribute on bare ones",
      },
      async () => {
        const fresh = await harness.freshUrl("cli_migrate_quiet");
        const run = await cli(["--url", fresh, "migrate"], { subprocess: true });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /applied 0000_init, /);
        assert.doesNotMatch(run.stderr, /Warning/);
        assert.equal(run.stderr, "");
      },
    );

    it("show prints every field and exits 1 for an unknown id; --json parses", async () => {
      const task = randomUUID();
      await backend.markAsFailure(task, new TypeError("bad row 7"), {
        request: { name: "etl.load", args: [7], kwargs: { table: "orders" }, worker: "w9", queue: "etl", parentId: "p-1" },
      });
      const text = await cli(["--url", url, "show", task]);
      assert.equal(text.code, 0, text.stderr);
      for (const expected of [task, "FAILURE", "etl.load", "w9", "etl", "p-1", '{"table":"orders"}', "TypeError: bad row 7", "traceback:"])
        assert.ok(text.stdout.includes(expected), `missing ${expected}\n${text.stdout}`);
      const json = await cli(["--url", url, "--json", "show", task, "nope"]);
      assert.equal(json.code, 1);
      const [shown, unknown] = JSON.parse(json.stdout);
      assert.equal(shown.status, "FAILURE");
      assert.deepEqual(shown.result, { exc_type: "TypeError", exc_module: "builtins", exc_message: ["bad row 7"] });
      assert.deepEqual(shown.args, [7]);
      assert.equal(unknown.exists, false);
    });

    it("list filters by state, name, worker, queue and time, as a table or JSON", async () => {
      const now = Date.now();
      const ids = { a: randomUUID(), b: randomUUID(), c: randomUUID() };
      await backend.markAsDone(ids.a, 1, { request: { name: "audit.a", worker: "wa", queue: "qa" }, now: new Date(now - 3 * DAY) });
      await backend.markAsFailure(ids.b, new Error("x"), {
        request: { name: "audit.b", worker: "wb", queue: "qb" },
        now: new Date(now - 2 * DAY),
      });
      await backend.markAsDone(ids.c, 3, { request: { name: "audit.b", worker: "wb", queue: "qb" }, now: new Date(now - 1 * DAY) });
      const byName = JSON.parse((await cli(["--url", url, "--json", "list", "--name", "audit.b"])).stdout);
      assert.deepEqual(
        byName.map((r: { task_id: string }) => r.task_id),
        [ids.c, ids.b],
      );
      const failed = JSON.parse((await cli(["--url", url, "--json", "list", "--state", "failure", "--worker", "wb"])).stdout);
      assert.deepEqual(
        failed.map((r: { task_id: string }) => r.task_id),
        [ids.b],
      );
      const window = JSON.parse(
        (
          await cli([
            "--url",
            url,
            "--json",
            "list",
            "--name",
            "audit.a,audit.b",
            "--since",
            "60h",
            "--until",
            new Date(now - 1.5 * DAY).toISOString(),
          ])
        ).stdout,
      );
      assert.deepEqual(
        window.map((r: { task_id: string }) => r.task_id),
        [ids.b],
      );
      const jsonl = (await cli(["--url", url, "list", "--jsonl", "--queue", "qa"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        jsonl.map((r) => r.task_id),
        [ids.a],
      );
      const table = await cli(["--url", url, "list", "--name", "audit.b", "--limit", "1"]);
      assert.equal(table.code, 0);
      assert.match(table.stdout, /^TASK ID\s+STATE\s+NAME/);
      assert.ok(table.stdout.includes(ids.c) && !table.stdout.includes(ids.b));
      const bad = await cli(["--url", url, "list", "--since", "yesterday-ish"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since/);
    });

    it("stats counts by state, name, worker and hour, with the failure rate", async () => {
      const fresh = await harness.freshUrl("cli_stats");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      await b.storeMany([
        ...Array.from({ length: 6 }, () => ({ taskId: randomUUID(), status: states.SUCCESS, request: { name: "s.ok", worker: "w1" } })),
        ...Array.from({ length: 2 }, () => ({
          taskId: randomUUID(),
          status: states.FAILURE,
          result: new Error("e"),
          request: { name: "s.bad", worker: "w2" },
        })),
        { taskId: randomUUID(), status: states.STARTED, request: { name: "s.ok", worker: "w1" } },
      ]);
      const result = await cli(["--url", fresh, "--json", "stats"]);
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout);
      assert.equal(stats.total, 9);
      assert.deepEqual(
        stats.byState.map((e: { key: string; count: number }) => [e.key, e.count]),
        [
          ["SUCCESS", 6],
          ["FAILURE", 2],
          ["STARTED", 1],
        ],
      );
      assert.deepEqual(
        stats.byName.map((e: { key: string; count: number; failures: number }) => [e.key, e.count, e.failures]),
        [
          ["s.ok", 7, 0],
          ["s.bad", 2, 2],
        ],
      );
      assert.equal(stats.failureRate, 0.25);
      assert.equal(stats.busiestHours[0].count, 8);
      const text = await cli(["--url", fresh, "stats"]);
      assert.match(text.stdout, /9 tasks since .*failure rate 25\.0%/);
    });

    it("show prints the history timeline with durations and each failed attempt's exception; --json includes it", async () => {
      const task = randomUUID();
      const t0 = Date.now() - 60_000;
      const at = (s: number) => new Date(t0 + s * 1000);
      await backend.markAsSent(task, { name: "etl.timeline" }, { now: at(0) });
      await backend.markAsStarted(task, null, { request: { name: "etl.timeline", worker: "w1" }, now: at(1.5) });
      await backend.markAsRetry(task, new RangeError("db busy"), { request: { name: "etl.timeline", worker: "w1" }, now: at(2) });
      await backend.markAsStarted(task, null, { request: { name: "etl.timeline", worker: "w2", retries: 1 }, now: at(12) });
      await backend.markAsDone(task, 1, { request: { name: "etl.timeline", worker: "w2", retries: 1 }, now: at(15) });
      const text = await cli(["--url", url, "show", task]);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.split("\n");
      const timeline = lines
        .slice(lines.indexOf("  history:") + 3)
        .filter((line) => line.trim() !== "")
        .map((line) => line.trim().split(/\s{2,}/));
      assert.deepEqual(timeline, [
        [at(0).toISOString(), "PENDING"],
        [at(1.5).toISOString(), "STARTED", "w1", "+1.5 s"],
        [at(2).toISOString(), "RETRY", "w1", "+500 ms", "RangeError: db busy"],
        [at(12).toISOString(), "STARTED", "w2", "+10.0 s"],
        [at(15).toISOString(), "SUCCESS", "w2", "+3.0 s"],
      ]);
      const [shown] = JSON.parse((await cli(["--url", url, "--json", "show", task])).stdout);
      assert.deepEqual(
        shown.history.map((e: { status: string; date: string }) => [e.status, e.date]),
        [
          ["PENDING", at(0).toISOString()],
          ["STARTED", at(1.5).toISOString()],
          ["RETRY", at(2).toISOString()],
          ["STARTED", at(12).toISOString()],
          ["SUCCESS", at(15).toISOString()],
        ],
      );
      assert.deepEqual(shown.history[2].error, { exc_type: "RangeError", exc_module: "builtins", exc_message: ["db busy"] });
    });

    it("stats adds queue time and run time per task name (p50, p95, max) over the window", async () => {
      const fresh = await harness.freshUrl("cli_timings");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const t0 = Date.now() - 3_600_000;
      // Task i of "t.fast" queues i seconds and runs 2i seconds; "t.other" has no send time (run time only).
      for (let i = 1; i <= 20; i++) {
        const task = randomUUID();
        const request = { name: "t.fast" };
        await b.markAsSent(task, request, { now: new Date(t0) });
        await b.markAsStarted(task, null, { request, now: new Date(t0 + i * 1000) });
        await b.markAsDone(task, i, { request, now: new Date(t0 + 3 * i * 1000) });
      }
      const other = randomUUID();
      await b.markAsStarted(other, null, { request: { name: "t.other" }, now: new Date(t0) });
      await b.markAsFailure(other, new Error("x"), { request: { name: "t.other" }, now: new Date(t0 + 500) });
      const result = await cli(["--url", fresh, "--json", "stats"]);
      assert.equal(result.code, 0, result.stderr);
      const { timings } = JSON.parse(result.stdout);
      assert.deepEqual(timings, [
        {
          name: "t.fast",
          queue: { count: 20, p50: 10_000, p95: 19_000, max: 20_000 },
          run: { count: 20, p50: 20_000, p95: 38_000, max: 40_000 },
        },
        { name: "t.other", queue: null, run: { count: 1, p50: 500, p95: 500, max: 500 } },
      ]);
      const text = await cli(["--url", fresh, "stats"]);
      assert.match(text.stdout, /queue and run time/);
      assert.match(text.stdout, /t\.fast\s+20\s+10\.0 s\s+19\.0 s\s+20\.0 s\s+20\s+20\.0 s\s+38\.0 s\s+40\.0 s/);
      const outside = JSON.parse((await cli(["--url", fresh, "--json", "stats", "--until", new Date(t0 - 1000).toISOString()])).stdout);
      assert.deepEqual(outside.timings, []);
    });

    it("migrate --no-history switches history off for every writer and --history back on", async () => {
      const fresh = await harness.freshUrl("cli_history");
      const off = await cli(["--url", fresh, "--json", "migrate", "--no-history"]);
      assert.equal(off.code, 0, off.stderr);
      assert.equal(JSON.parse(off.stdout).history, false);
      const b = await openBackend({ url: fresh });
      opened.push(b);
      const task = randomUUID();
      await b.markAsDone(task, 1);
      assert.deepEqual(await b.getTaskHistory(task), []);
      const on = await cli(["--url", fresh, "migrate", "--history"]);
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /history switched on/);
      const later = randomUUID();
      await b.markAsDone(later, 1);
      assert.equal((await b.getTaskHistory(later)).length, 1);
    });

    it("backend-cleanup --dry-run counts and deletes nothing; a real run keeps what retention says", async () => {
      const fresh = await harness.freshUrl("cli_cleanup");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const aged = (count: number, status: string, ageDays: number) =>
        b.storeMany(
          Array.from({ length: count }, () => ({ taskId: randomUUID(), status, result: status === states.FAILURE ? new Error("f") : 1 })),
          { now: new Date(Date.now() - ageDays * DAY) },
        );
      await aged(40, states.SUCCESS, 10);
      await aged(7, states.FAILURE, 10);
      await aged(3, states.FAILURE, 100);
      await aged(5, states.SUCCESS, 1);
      await b.saveGroup("g-old", ["x"], { now: new Date(Date.now() - 10 * DAY) });
      const total = await b.audit.count({});
      const dry = await cli(["--url", fresh, "--json", "backend-cleanup", "--expires", "7d", "--keep-failures", "90d", "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      const counted = JSON.parse(dry.stdout);
      assert.equal(counted.dryRun, true);
      assert.equal(counted.tasks, 43);
      assert.equal(counted.groups, 1);
      assert.equal(await b.audit.count({}), total, "the dry run deleted rows");
      const real = await cli(["--url", fresh, "backend-cleanup", "--expires", "7d", "--keep-failures", "90d", "--batch-size", "10"]);
      assert.equal(real.code, 0, real.stderr);
      assert.match(
        real.stdout,
        /^backend-cleanup: deleted 43 expired task rows, 1 group rows, 0 stale unready rows in .*kept results newer than 7d, FAILURE newer than 90d/m,
      );
      assert.equal(real.stdout.trim().split("\n").length, 1, "one summary line under cron");
      assert.equal(await b.audit.count({}), total - 43);
      assert.equal(await b.audit.count({ states: [states.FAILURE] }), 7);
    });

    it("backend-cleanup takes rules from --keep (name, state, queue) and a --policy file; --dry-run counts per rule", async () => {
      const fresh = await harness.freshUrl("cli_rules");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const aged = (count: number, ageDays: number, request: { name?: string; queue?: string }, status: string = states.SUCCESS) =>
        b.storeMany(
          Array.from({ length: count }, () => ({ taskId: randomUUID(), status: status as typeof states.SUCCESS, result: 1, request })),
          { now: new Date(Date.now() - ageDays * DAY) },
        );
      await aged(4, 100, { name: "billing.invoice" });
      await aged(2, 500, { name: "billing.invoice" });
      await aged(3, 100, { name: "reports.daily" });
      await aged(5, 100, { name: "reports.daily" }, states.FAILURE);
      await aged(6, 100, { name: "etl.load", queue: "audit" });
      const args = ["--expires", "7d", "--keep", "name=billing.*=400d", "queue=audit=forever", "--keep-failures", "90d"];
      const dry = await cli(["--url", fresh, "backend-cleanup", ...args, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would delete 10 expired task rows/);
      for (const line of ["state=FAILURE=90d: 5", "name=billing.*=400d: 2", "queue=audit=forever: 0", "default=7d: 3"])
        assert.ok(dry.stdout.includes(line), `missing "${line}"\n${dry.stdout}`);
      const dir = mkdtempSync(join(tmpdir(), "tl-policy-"));
      try {
        const policy = join(dir, "retention.json");
        writeFileSync(
          policy,
          JSON.stringify({
            expires: "7d",
            rules: [
              { name: "billing.*", keep: "400d" },
              { queue: "audit", keep: "forever" },
              { state: "FAILURE", keep: "90d" },
            ],
          }),
        );
        const fromFile = await cli(["--url", fresh, "--json", "backend-cleanup", "--policy", policy, "--dry-run"]);
        assert.equal(fromFile.code, 0, fromFile.stderr);
        assert.equal(JSON.parse(fromFile.stdout).tasks, 10);
        writeFileSync(
          policy,
          JSON.stringify({
            rules: [
              { name: "billing.*", keep: "400d" },
              { queue: "audit", kepe: "forever" },
            ],
          }),
        );
        const bad = await cli(["--url", fresh, "backend-cleanup", "--policy", policy]);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /rules\[1\].*"queue":"audit".*unknown field "kepe"/);
        const badKeep = await cli(["--url", fresh, "backend-cleanup", "--keep", "nmae=billing.*=400d"]);
        assert.equal(badKeep.code, 2);
        assert.match(badKeep.stderr, /"nmae=billing\.\*".*expected state=, name= or queue=/);
        const real = await cli(["--url", fresh, "--json", "backend-cleanup", "--policy", policy.replace("retention", "missing")]);
        assert.equal(real.code, 2);
        const run = await cli(["--url", fresh, "--json", "backend-cleanup", ...args]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).tasks, 10);
        assert.equal(await b.audit.count({}), 10);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("backend-cleanup --explain prints each task's rule and when its row goes; hold, release and list --held", async () => {
      const billing = randomUUID();
      const plain = randomUUID();
      const done = new Date(Date.now() - 3 * DAY);
      await backend.storeMany(
        [
          { taskId: billing, status: states.SUCCESS, result: 1, request: { name: "billing.invoice" } },
          { taskId: plain, status: states.SUCCESS, result: 1, request: { name: "x" } },
        ],
        { now: done },
      );
      const doneAt = (await backend.getTaskMeta(billing)).dateDone!;
      const explained = await cli([
        "--url",
        url,
        "backend-cleanup",
        "--expires",
        "1d",
        "--keep",
        "name=billing.*=400d",
        "--explain",
        billing,
        plain,
        "unknown-id",
      ]);
      assert.equal(explained.code, 0, explained.stderr);
      const lines = explained.stdout.trim().split("\n");
      assert.equal(
        lines[0],
        `${billing}: SUCCESS, rule name=billing.*=400d: deleted by the first cleanup after ${new Date(doneAt.getTime() + 400 * DAY).toISOString()}`,
      );
      assert.match(lines[1]!, new RegExp(`^${plain}: SUCCESS, rule default=1d: deleted by the first cleanup after `));
      assert.equal(lines[2], "unknown-id: no stored row");
      const held = await cli(["--url", url, "hold", plain, billing, "--reason", "case 118"]);
      assert.equal(held.code, 0, held.stderr);
      assert.match(held.stdout, /^held 2 tasks/);
      const listed = await cli(["--url", url, "--json", "list", "--held"]);
      assert.deepEqual(
        JSON.parse(listed.stdout)
          .map((t: { task_id: string }) => t.task_id)
          .sort(),
        [billing, plain].sort(),
      );
      const explainHeld = await cli(["--url", url, "backend-cleanup", "--explain", plain]);
      assert.match(explainHeld.stdout, /held since .* \(case 118\): kept until released/);
      const cleaned = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "1d"]);
      assert.equal(cleaned.code, 0, cleaned.stderr);
      assert.ok((await backend.exists(plain)) && (await backend.exists(billing)), "held rows survive cleanup");
      const released = await cli(["--url", url, "release", plain, billing, "never-held"]);
      assert.match(released.stdout, /^released 2 of 3 tasks \(1 were not held\)/);
      assert.equal((await cli(["--url", url, "--json", "list", "--held"])).stdout.trim(), "[]");
      await cli(["--url", url, "backend-cleanup", "--expires", "1d"]);
      assert.equal(await backend.exists(plain), false);
    });

    it("migrate --archive creates the archive; backend-cleanup --archive-after moves rows that show, list and stats still read", async () => {
      const fresh = await harness.freshUrl("cli_archive");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const ids = Array.from({ length: 12 }, () => randomUUID());
      await b.storeMany(
        ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 7, request: { name: "etl.load" } })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
      const refused = await cli(["--url", fresh, "backend-cleanup", "--expires", "never", "--archive-after", "7d"]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /migrate --archive/);
      const migrated = await cli(["--url", fresh, "migrate", "--archive"]);
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stderr, /archive tier ready/);
      const moved = await cli([
        "--url",
        fresh,
        "--json",
        "backend-cleanup",
        "--expires",
        "never",
        "--archive-after",
        "7d",
        "--batch-size",
        "5",
      ]);
      assert.equal(moved.code, 0, moved.stderr);
      assert.equal(JSON.parse(moved.stdout).archived, 12);
      const shown = await cli(["--url", fresh, "--json", "show", ids[0]!]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(JSON.parse(shown.stdout)[0].result, 7);
      const listed = await cli(["--url", fresh, "--json", "list", "--name", "etl.load"]);
      assert.equal(JSON.parse(listed.stdout).length, 12);
      const stats = await cli(["--url", fresh, "--json", "stats", "--all"]);
      assert.equal(JSON.parse(stats.stdout).total, 12);
      const exported = await cli(["--url", fresh, "export"]);
      assert.equal(exported.stdout.trim().split("\n").length, 12);
    });

    it("a second cleanup while one holds the lock exits 3 with a clear message, or waits with --wait", async () => {
      const lock = await takeCleanupLock(url);
      assert.ok(lock);
      try {
        const refused = await cli(["--url", url, "backend-cleanup"]);
        assert.equal(refused.code, 3, refused.stderr);
        assert.match(refused.stderr, /another backend-cleanup is running/);
        let finished = false;
        const waiting = cli(["--url", url, "--json", "backend-cleanup", "--wait"]).finally(() => (finished = true));
        // Long enough for a run that ignored the lock to be done (~20 ms here, a few hundred on a
        // loaded machine); --wait must not be.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        assert.equal(finished, false, "the waiting cleanup ran while the lock was held");
        await lock.release();
        const waited = await waiting;
        assert.equal(waited.code, 0, waited.stderr);
        assert.equal(JSON.parse(waited.stdout).complete, true);
      } finally {
        await lock.release();
      }
    });

    it("a backend-cleanup killed with -9 does not block the next run: SQLite takes over its lease at once, PostgreSQL's server released its lock", async () => {
      const { url: fresh, backend: b } = await expiredRows("cli_kill", 20_000);
      // One row per batch keeps the killed run inside its lock long enough to be caught there.
      const victim = cliProcess(["--url", fresh, "backend-cleanup", "--batch-size", "1"]);
      const holder = await lockHeld(fresh);
      assert.ok(holder, `the run never held the lock: ${victim.stderr()}`);
      victim.child.kill("SIGKILL");
      assert.equal((await victim.done).signal, "SIGKILL");
      if (harness.dialect === "sqlite") {
        assert.match((await cleanupLockHolder(fresh))!, /which is no longer running/);
      } else {
        // The server ends the session of a vanished client, and its advisory lock with it.
        for (let i = 0; i < 500 && (await cleanupLockHolder(fresh)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const next = await cli(["--url", fresh, "backend-cleanup"]);
      assert.equal(next.code, 0, next.stderr);
      if (harness.dialect === "sqlite")
        assert.match(
          next.stderr,
          new RegExp(`took over the cleanup lock from pid ${victim.child.pid} on this host .*which is no longer running`),
        );
      assert.equal(await b.audit.count({}), 0);
    });

    it("backend-cleanup --every runs at once, logs one line per run, and exits 0 on SIGTERM", async () => {
      const { url: fresh } = await expiredRows("cli_every", 10);
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
      const { url: fresh, backend: b } = await expiredRows("cli_every_int", 20_000);
      const running = cliProcess(["--url", fresh, "--json", "backend-cleanup", "--every", "1h", "--batch-size", "1"]);
      const holder = await lockHeld(fresh);
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

    // Checked before any database is opened, so once is enough.
    it(
      "backend-cleanup --every refuses a short interval, a non-duration, --dry-run, --wait and a stray --jitter with exit 2 and why",
      { skip: harness.dialect === "postgresql" && "dialect-independent (refused before the database is opened)" },
      async () => {
        const cases: [string[], RegExp][] = [
          [["--every", "30s"], /--every: cleanup runs at most once a minute, got 30s/],
          [["--every", "soon"], /--every: cannot read duration "soon"/],
          [["--every", "1h", "--dry-run"], /--every: cannot be combined with --dry-run: a dry run counts once/],
          [["--every", "1h", "--wait"], /--every: cannot be combined with --wait/],
          [["--jitter", "5m"], /--jitter: only applies with --every/],
          [["--every", "1h", "--jitter", "2h"], /--jitter: must be less than the interval/],
        ];
        for (const [args, why] of cases) {
          const result = await cli(["--url", url, "backend-cleanup", ...args]);
          assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
          assert.match(result.stderr, why);
        }
      },
    );

    it("two cleanups at once contend for the lock: the second, started while the first holds it, is refused and the first deletes everything", async () => {
      // Exit codes [0, 0] are what two runs without any lock give, so the test requires contention:
      // the second starts only once the first is seen holding the lock, while it still runs.
      const { url: fresh, backend: b } = await expiredRows("cli_cleanup_contended", 20_000);
      let firstDone = false;
      // A separate process (in-process runs take turns), as two cron jobs would be.
      const first = cli(["--url", fresh, "--json", "backend-cleanup", "--batch-size", "200"], { subprocess: true }).finally(
        () => (firstDone = true),
      );
      assert.ok(await lockHeld(fresh), "the first cleanup took the lock");
      assert.equal(firstDone, false, "the first cleanup still runs (else raise the row count)");
      const second = await cli(["--url", fresh, "backend-cleanup"]);
      assert.equal(second.code, 3, `the second cleanup was not refused: ${second.stderr}`);
      assert.match(second.stderr, /another backend-cleanup is running/);
      const done = await first;
      assert.equal(done.code, 0, done.stderr);
      assert.equal(JSON.parse(done.stdout).tasks, 20_000);
      assert.equal(await b.audit.count({}), 0);
    });

    it("TASKLEDGER_RETRY_BUDGET bounds how long a command retries an unreachable database; a bad value exits 2", async () => {
      const dead = ["--url", "postgres://app@127.0.0.1:1/x", "list"];
      const once = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "0" } });
      assert.equal(once.code, 1);
      assert.match(once.stderr, /list failed: connect ECONNREFUSED/);
      assert.doesNotMatch(once.stderr, /attempts/, "no retries with a budget of 0");
      const retried = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "300ms" } });
      assert.match(retried.stderr, /list failed after \d+ attempts in 0\.\d s/);
      const bad = await cli(dead, { env: { TASKLEDGER_RETRY_BUDGET: "soon" } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /TASKLEDGER_RETRY_BUDGET: cannot read duration "soon"/);
    });

    it("passwords in URLs are masked in every line, on success and on every error path", async () => {
      const secretUrl = options.withPassword(url);
      const runs = [
        await cli(["--url", secretUrl, "migrate", "--check"]),
        await cli(["--url", secretUrl, "list", "--bogus-option"]),
        await cli(["--url", "mysql://root:hunter2@db/x", "list"]),
        await cli(["--url", "postgres://app:hunter2@127.0.0.1:1/x", "list"], { env: { TASKLEDGER_RETRY_BUDGET: "0" } }),
        await cli(["--url", "postgres://app:hunter2@[broken/x", "stats"]),
        await cli(["--help"], { env: { TASKLEDGER_URL: "postgres://app:hunter2@db/x" } }),
      ];
      for (const run of runs) {
        assert.doesNotMatch(run.stdout + run.stderr, /hunter2/);
      }
      if (secretUrl.includes("hunter2")) assert.match(runs[0]!.stdout, /\*\*\*/);
      assert.equal(runs[1]!.code, 2);
      assert.equal(runs[2]!.code, 2);
      assert.equal(runs[3]!.code, 1);
      assert.equal(runs[4]!.code, 2);
    });

    it("forget deletes results; groups show lists members and their states", async () => {
      const [x, y] = [randomUUID(), randomUUID()];
      await backend.markAsDone(x, 1);
      await backend.saveGroup("g-cli", [x, y]);
      const group = JSON.parse((await cli(["--url", url, "--json", "groups", "show", "g-cli"])).stdout);
      assert.deepEqual(
        group.members.map((m: { task_id: string; status: string }) => [m.task_id, m.status]),
        [
          [x, "SUCCESS"],
          [y, "PENDING"],
        ],
      );
      assert.equal((await cli(["--url", url, "groups", "show", "no-such-group"])).code, 1);
      const forgot = await cli(["--url", url, "--json", "forget", x, y]);
      assert.deepEqual(JSON.parse(forgot.stdout), { requested: 2, forgotten: 1 });
      assert.equal(await backend.exists(x), false);
    });

    it("a corrupt row never stops list, export or cleanup", async () => {
      const bad = randomUUID();
      await backend.markAsDone(bad, 1, { now: new Date(Date.now() - 30 * DAY) });
      await harness.setRaw(url, bad, "result", Buffer.from([0x80, 0x05, 0x95]));
      const listed = await cli(["--url", url, "--json", "list", "--limit", "1000"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(JSON.parse(listed.stdout).find((r: { task_id: string }) => r.task_id === bad).error, /cannot be decoded/);
      const exported = await cli(["--url", url, "export", "--format", "csv"]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr, /undecodable/);
      assert.equal((await cli(["--url", url, "backend-cleanup"])).code, 0);
      assert.equal(await backend.exists(bad), false);
    });

    it("a row holding a cycle, a 5,000-deep value or a value of the wrong type is reported in place by list, export, list --jsonl and show; an object message reads as text; the rest completes", async () => {
      const fresh = await harness.freshUrl("cli_corrupt");
      const b = await openBackend({ url: fresh });
      opened.push(b);
      const bad: Record<string, [string, Buffer | string | number]> = {
        "object-message": [
          "result",
          Buffer.from(JSON.stringify({ exc_type: "ValueError", exc_module: "builtins", exc_message: [{ toString: 1 }] })),
        ],
        // A pickled list that contains itself: EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP.
        "self-reference": ["result", Buffer.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])],
        "deep-pickle": [
          "result",
          Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(5000, 0x5d), Buffer.alloc(4999, 0x61), Buffer.from([0x2e])]),
        ],
        "deep-json": ["result", Buffer.from("[".repeat(5000) + "]".repeat(5000))],
        // Not only result: setRaw writes the column it names.
        "bad-args": ["args", "{not json"],
        // SQLite keeps any storage class; PostgreSQL's bytea and text columns cannot hold these.
        ...(harness.dialect === "sqlite"
          ? ({
              "text-result": ["result", "plain text"],
              "integer-result": ["result", 42],
              "blob-traceback": ["traceback", Buffer.from("tb")],
            } as Record<string, [string, Buffer | string | number]>)
          : {}),
      };
      for (const id of Object.keys(bad)) await b.markAsFailure(id, new Error("x"));
      await b.markAsDone("fine-before", 1);
      for (const [id, [column, value]] of Object.entries(bad)) await harness.setRaw(fresh, id, column, value);
      await b.markAsDone("fine-after", 2);
      // An exception whose message holds an object reads, its message as text.
      const ids = Object.keys(bad).filter((id) => id !== "object-message");
      const every = [...ids, "object-message", "fine-before", "fine-after"].sort();
      const records = (text: string) =>
        text
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as { task_id: string; error: string | null; result: unknown });
      const checkRecords = (label: string, rows: { task_id: string; error: string | null; result: unknown }[]) => {
        assert.deepEqual(rows.map((r) => r.task_id).sort(), every, label);
        for (const row of rows) {
          if (ids.includes(row.task_id))
            assert.match(row.error ?? "", new RegExp(`task ${row.task_id} cannot be decoded: .+`), `${label}: ${row.task_id}`);
          else assert.equal(row.error, null);
        }
        assert.equal(rows.find((r) => r.task_id === "fine-after")!.result, 2);
      };
      const table = await cli(["--url", fresh, "list"]);
      assert.equal(table.code, 0, table.stderr);
      for (const id of every) assert.ok(table.stdout.includes(id), `list lost ${id}`);
      for (const id of ids) assert.match(table.stderr, new RegExp(`task ${id} cannot be decoded`));
      const json = await cli(["--url", fresh, "--json", "list"]);
      assert.equal(json.code, 0, json.stderr);
      checkRecords("list --json", JSON.parse(json.stdout));
      const jsonl = await cli(["--url", fresh, "list", "--jsonl"]);
      assert.equal(jsonl.code, 0, jsonl.stderr);
      checkRecords("list --jsonl", records(jsonl.stdout));
      const exported = await cli(["--url", fresh, "export"]);
      assert.equal(exported.code, 0, exported.stderr);
      checkRecords("export", records(exported.stdout));
      const csv = await cli(["--url", fresh, "export", "--format", "csv"]);
      assert.equal(csv.code, 0, csv.stderr);
      for (const id of every) assert.match(csv.stdout, new RegExp(`^${id},`, "m"));
      assert.match(csv.stderr, new RegExp(`${ids.length} with undecodable values`));
      const shown = await cli(["--url", fresh, "show", ...ids, "fine-after"]);
      assert.equal(shown.code, 0, shown.stderr);
      for (const id of ids) assert.match(shown.stdout, new RegExp(`task ${id} cannot be decoded`));
      const shownJson = await cli(["--url", fresh, "--json", "show", ...every]);
      assert.equal(shownJson.code, 0, shownJson.stderr);
      checkRecords("show --json", JSON.parse(shownJson.stdout));
    });

    it("writing into a closed pipe (export | head, list | head, --help | head) exits quietly with no stack trace", async () => {
      await backend.storeMany(Array.from({ length: 2000 }, (_, i) => ({ taskId: `pipe-${i}`, status: states.SUCCESS, result: { i } })));
      for (const args of [["export"], ["export", "--format", "csv"], ["list", "--jsonl", "--limit", "2000"], ["list"], ["--help"]]) {
        const run = await cli(["--url", url, ...args], { closeStdout: true });
        assert.equal(run.code, 0, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
        assert.doesNotMatch(run.stderr, /EPIPE|Error|at /, args.join(" "));
      }
    });

    it("--since 99999999999d and stats --top abc or -5 are usage errors (exit 2) that name the option", async () => {
      for (const [args, option] of [
        [["list", "--since", "99999999999d"], "--since"],
        [["list", "--until", "99999999999d"], "--until"],
        [["stats", "--since", "9".repeat(400) + "d"], "--since"],
        [["stats", "--top", "abc"], "--top"],
        [["stats", "--top", "-5"], "--top"],
        [["stats", "--top", "0"], "--top"],
      ] as const) {
        // In-process: the same program main.ts runs, without a process per case.
        const out = bufferOutput();
        const code = await buildProgram(out).run(["--url", url, ...args]);
        const stderr = out.stderr.join("\n");
        assert.equal(code, 2, `${args.join(" ")}: exit ${code}\n${stderr}`);
        assert.ok(stderr.includes(`taskledger: ${option}:`), `${args.join(" ")}: ${stderr}`);
        assert.doesNotMatch(stderr, /unexpected error|Invalid time value|syntax/i);
      }
    });

    for (const word of ["Never", "FOREVER", "none"]) {
      it(`"${word}" keeps rows forever everywhere a retention is read: --expires, TASKLEDGER_RESULT_EXPIRES, --keep, --keep-failures, a policy file's expires and rules`, async () => {
        const fresh = await harness.freshUrl(`cli_forever_${word.toLowerCase()}`);
        const b = await openBackend({ url: fresh, resultExtended: true });
        opened.push(b);
        const aged = (count: number, status: string, name?: string) =>
          b.storeMany(
            Array.from({ length: count }, () => ({
              taskId: randomUUID(),
              status: status as typeof states.SUCCESS,
              result: 1,
              ...(name ? { request: { name } } : {}),
            })),
            { now: new Date(Date.now() - 10 * DAY) },
          );
        await aged(3, states.SUCCESS);
        await aged(2, states.FAILURE);
        await aged(2, states.REVOKED, "billing.invoice");
        const total = await b.audit.count({});
        const dryRun = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
          const run = await cli(["--url", fresh, "--json", "backend-cleanup", ...args, "--dry-run"], { env });
          assert.equal(run.code, 0, `${args.join(" ")} ${JSON.stringify(env)}: ${run.stderr}`);
          return JSON.parse(run.stdout).tasks as number;
        };
        assert.equal(await dryRun(["--expires", "1d"]), 7, "the rows are old enough to go without a forever");
        assert.equal(await dryRun(["--expires", word]), 0, `--expires ${word}`);
        assert.equal(await dryRun([], { TASKLEDGER_RESULT_EXPIRES: word }), 0, `TASKLEDGER_RESULT_EXPIRES=${word}`);
        const rules = ["--keep", `SUCCESS=${word}`, `name=billing.*=${word}`, "--keep-failures", word];
        assert.equal(await dryRun(["--expires", "1d", ...rules]), 0, rules.join(" "));
        const dir = mkdtempSync(join(tmpdir(), "tl-forever-"));
        try {
          const policy = join(dir, "retention.json");
          writeFileSync(policy, JSON.stringify({ expires: word, rules: [] }));
          assert.equal(await dryRun(["--policy", policy]), 0, `policy expires ${word}`);
          writeFileSync(
            policy,
            JSON.stringify({
              expires: "1d",
              rules: [
                { state: ["SUCCESS", "FAILURE"], keep: word },
                { name: "billing.*", keep: word },
              ],
            }),
          );
          assert.equal(await dryRun(["--policy", policy]), 0, `policy rules keep ${word}`);
          // A real run, the expiry from the environment: nothing goes, and the log line says so.
          const real = await cli(["--url", fresh, "backend-cleanup"], { env: { TASKLEDGER_RESULT_EXPIRES: word } });
          assert.equal(real.code, 0, real.stderr);
          assert.match(real.stdout, /deleted 0 expired task rows.*kept all results \(no expiry\)/);
          assert.equal(await b.audit.count({}), total);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    it("a misspelt forever is a usage error (exit 2) naming the option and saying what to write", async () => {
      for (const [args, env, option] of [
        [["--expires", "forevr"], {}, "--expires"],
        [["--keep-failures", "nevr"], {}, "--keep-failures"],
        [["--keep", "RETRY=for ever"], {}, "--keep"],
        [[], { TASKLEDGER_RESULT_EXPIRES: "nope" }, "TASKLEDGER_RESULT_EXPIRES"],
      ] as const) {
        const run = await cli(["--url", url, "backend-cleanup", ...args, "--dry-run"], { env });
        assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`taskledger: ${option}: cannot read duration`), run.stderr);
        assert.match(run.stderr, /use a duration such as 7d.*or forever, never, none to keep rows forever/);
      }
    });

    it("every count option takes a positive integer in digits only; anything else exits 2 naming the option", async () => {
      const cases: [string[], string, string[]][] = [
        [["list"], "--limit", ["-1", "abc", "0", "1.5", "0x10", "1e3", "", "99999999999999999999"]],
        [["stats"], "--top", ["0", "abc", "-5", "2.5", "1e3", "+3"]],
        [["backend-cleanup", "--dry-run"], "--batch-size", ["1.5", "0", "-1", "abc", "0x10", "1e308"]],
      ];
      for (const [command, option, values] of cases) {
        for (const value of values) {
          const args = [...command, option, value];
          const run = await cli(["--url", url, ...args]);
          assert.equal(run.code, 2, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
          assert.ok(
            run.stderr.includes(`taskledger: ${option}: expected a positive integer, e.g. ${option} 100, got "${value}"`),
            `${args.join(" ")}: ${run.stderr}`,
          );
        }
      }
      for (const value of ["70000", "65536", "-1", "80.5", "abc"]) {
        const run = await cli(["--url", url, "serve", "--port", value]);
        assert.equal(run.code, 2, `--port ${value}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`taskledger: --port: expected a port from 1 to 65535, or 0 to pick a free one`), run.stderr);
      }
      const fine = await cli(["--url", url, "--json", "list", "--limit", " 7 "]);
      assert.equal(fine.code, 0, fine.stderr);
    });

    it("export streams 30,000 rows as JSON lines or CSV with flat memory", async () => {
      const fresh = await harness.freshUrl("cli_export");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const fill = async (from: number, to: number) => {
        for (let start = from; start < to; start += 10_000) {
          await b.storeMany(
            Array.from({ length: Math.min(10_000, to - start) }, (_, i) => ({
              taskId: `export-${start + i}`,
              status: states.SUCCESS,
              result: { n: start + i, text: "x".repeat(400) },
              request: { name: "bulk", args: [start + i] },
            })),
          );
        }
      };
      await fill(0, 5_000);
      // The proof is the heap cap: 30k decoded rows and their 15 MB of JSON could not be held in
      // a 24 MB heap, so the large export only succeeds if it streams. Peak RSS (which also counts
      // driver buffers and pages the allocator keeps) is checked loosely on top. (100k rows and a
      // 32 MB heap proved the same in three times the time: the cost is per row, so the rows are
      // fewer and longer.)
      const small = await cli(["--url", fresh, "export"], { measureMemory: true, heapLimitMb: 24 });
      assert.equal(small.code, 0, small.stderr);
      assert.equal(small.stdout.trim().split("\n").length, 5_000);
      await fill(5_000, 30_000);
      const large = await cli(["--url", fresh, "export"], { measureMemory: true, heapLimitMb: 24 });
      assert.equal(large.code, 0, large.stderr);
      const lines = large.stdout.trim().split("\n");
      assert.equal(lines.length, 30_000);
      assert.deepEqual(JSON.parse(lines[29_999]!).args, [29_999]);
      // Six times the rows (about 15 MB of output) must not mean six times the memory.
      assert.ok(large.maxRssKb! < small.maxRssKb! + 64 * 1024, `peak RSS ${small.maxRssKb} KiB for 5k rows, ${large.maxRssKb} KiB for 30k`);
      // CSV streams the same way, filtered, under the same heap cap.
      const csv = await cli(["--url", fresh, "export", "--format", "csv", "--name", "bulk", "--state", "SUCCESS"], { heapLimitMb: 24 });
      assert.equal(csv.code, 0, csv.stderr);
      const rows = csv.stdout.trim().split("\n");
      assert.equal(rows.length, 30_001);
      assert.match(rows[0]!, /^task_id,status,name/);
    });
  });
}
