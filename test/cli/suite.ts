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
import { cli } from "../helpers/cli.js";
import type { Harness } from "../helpers/harness.js";

const DAY = 86_400_000;

export function cliSuite(harness: Harness, skip: string | false, options: { withPassword: (url: string) => string }): void {
  describe(`taskledger CLI on ${harness.dialect}`, { skip }, () => {
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

    async function countAll(): Promise<number> {
      return backend.audit.count({});
    }

    it("migrate applies once and is idempotent; --check reports pending migrations with exit 1", async () => {
      const fresh = await harness.freshUrl("cli_migrate");
      if (harness.dialect === "sqlite") (await openBackend({ url: fresh, migrate: false })).close();
      const pending = await cli(["--url", fresh, "--json", "migrate", "--check"]);
      assert.equal(pending.code, 1, pending.stderr);
      assert.equal(JSON.parse(pending.stdout).pending[0], "0000_init");
      const applied = await cli(["--url", fresh, "migrate"]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.match(applied.stdout, /applied 0000_init/);
      const again = await cli(["--url", fresh, "--json", "migrate"]);
      assert.equal(again.code, 0);
      assert.deepEqual(JSON.parse(again.stdout).appliedNow, []);
      const check = await cli(["--url", fresh, "migrate", "--check"]);
      assert.equal(check.code, 0);
      assert.match(check.stdout, /up to date/);
    });

    it("show prints every field and exits 1 for an unknown id; --json parses", async () => {
      const task = randomUUID();
      await backend.markAsFailure(task, new TypeError("bad row 7"), { request: { name: "etl.load", args: [7], kwargs: { table: "orders" }, worker: "w9", queue: "etl", parentId: "p-1" } });
      const text = await cli(["--url", url, "show", task]);
      assert.equal(text.code, 0, text.stderr);
      for (const expected of [task, "FAILURE", "etl.load", "w9", "etl", "p-1", '{"table":"orders"}', "TypeError: bad row 7", "traceback:"]) assert.ok(text.stdout.includes(expected), `missing ${expected}\n${text.stdout}`);
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
      await backend.markAsFailure(ids.b, new Error("x"), { request: { name: "audit.b", worker: "wb", queue: "qb" }, now: new Date(now - 2 * DAY) });
      await backend.markAsDone(ids.c, 3, { request: { name: "audit.b", worker: "wb", queue: "qb" }, now: new Date(now - 1 * DAY) });
      const byName = JSON.parse((await cli(["--url", url, "--json", "list", "--name", "audit.b"])).stdout);
      assert.deepEqual(byName.map((r: { task_id: string }) => r.task_id), [ids.c, ids.b]);
      const failed = JSON.parse((await cli(["--url", url, "--json", "list", "--state", "failure", "--worker", "wb"])).stdout);
      assert.deepEqual(failed.map((r: { task_id: string }) => r.task_id), [ids.b]);
      const window = JSON.parse((await cli(["--url", url, "--json", "list", "--name", "audit.a,audit.b", "--since", "60h", "--until", new Date(now - 1.5 * DAY).toISOString()])).stdout);
      assert.deepEqual(window.map((r: { task_id: string }) => r.task_id), [ids.b]);
      const jsonl = (await cli(["--url", url, "list", "--jsonl", "--queue", "qa"])).stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(jsonl.map((r) => r.task_id), [ids.a]);
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
        ...Array.from({ length: 2 }, () => ({ taskId: randomUUID(), status: states.FAILURE, result: new Error("e"), request: { name: "s.bad", worker: "w2" } })),
        { taskId: randomUUID(), status: states.STARTED, request: { name: "s.ok", worker: "w1" } },
      ]);
      const result = await cli(["--url", fresh, "--json", "stats"]);
      assert.equal(result.code, 0, result.stderr);
      const stats = JSON.parse(result.stdout);
      assert.equal(stats.total, 9);
      assert.deepEqual(stats.byState.map((e: { key: string; count: number }) => [e.key, e.count]), [["SUCCESS", 6], ["FAILURE", 2], ["STARTED", 1]]);
      assert.deepEqual(stats.byName.map((e: { key: string; count: number; failures: number }) => [e.key, e.count, e.failures]), [["s.ok", 7, 0], ["s.bad", 2, 2]]);
      assert.equal(stats.failureRate, 0.25);
      assert.equal(stats.busiestHours[0].count, 8);
      const text = await cli(["--url", fresh, "stats"]);
      assert.match(text.stdout, /9 tasks since .*failure rate 25\.0%/);
    });

    it("backend-cleanup --dry-run counts and deletes nothing; a real run keeps what retention says", async () => {
      const fresh = await harness.freshUrl("cli_cleanup");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const aged = (count: number, status: string, ageDays: number) =>
        b.storeMany(Array.from({ length: count }, () => ({ taskId: randomUUID(), status, result: status === states.FAILURE ? new Error("f") : 1 })), { now: new Date(Date.now() - ageDays * DAY) });
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
      assert.match(real.stdout, /^backend-cleanup: deleted 43 expired task rows, 1 group rows, 0 stale unready rows in .*kept results newer than 7d, FAILURE newer than 90d/m);
      assert.equal(real.stdout.trim().split("\n").length, 1, "one summary line under cron");
      assert.equal(await b.audit.count({}), total - 43);
      assert.equal(await b.audit.count({ states: [states.FAILURE] }), 7);
    });

    it("backend-cleanup takes rules from --keep (name, state, queue) and a --policy file; --dry-run counts per rule", async () => {
      const fresh = await harness.freshUrl("cli_rules");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const aged = (count: number, ageDays: number, request: { name?: string; queue?: string }, status: string = states.SUCCESS) =>
        b.storeMany(Array.from({ length: count }, () => ({ taskId: randomUUID(), status: status as typeof states.SUCCESS, result: 1, request })), { now: new Date(Date.now() - ageDays * DAY) });
      await aged(4, 100, { name: "billing.invoice" });
      await aged(2, 500, { name: "billing.invoice" });
      await aged(3, 100, { name: "reports.daily" });
      await aged(5, 100, { name: "reports.daily" }, states.FAILURE);
      await aged(6, 100, { name: "etl.load", queue: "audit" });
      const args = ["--expires", "7d", "--keep", "name=billing.*=400d", "queue=audit=forever", "--keep-failures", "90d"];
      const dry = await cli(["--url", fresh, "backend-cleanup", ...args, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would delete 10 expired task rows/);
      for (const line of ["state=FAILURE=90d: 5", "name=billing.*=400d: 2", "queue=audit=forever: 0", "default=7d: 3"]) assert.ok(dry.stdout.includes(line), `missing "${line}"\n${dry.stdout}`);
      const dir = mkdtempSync(join(tmpdir(), "tl-policy-"));
      try {
        const policy = join(dir, "retention.json");
        writeFileSync(policy, JSON.stringify({ expires: "7d", rules: [{ name: "billing.*", keep: "400d" }, { queue: "audit", keep: "forever" }, { state: "FAILURE", keep: "90d" }] }));
        const fromFile = await cli(["--url", fresh, "--json", "backend-cleanup", "--policy", policy, "--dry-run"]);
        assert.equal(fromFile.code, 0, fromFile.stderr);
        assert.equal(JSON.parse(fromFile.stdout).tasks, 10);
        writeFileSync(policy, JSON.stringify({ rules: [{ name: "billing.*", keep: "400d" }, { queue: "audit", kepe: "forever" }] }));
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
      await backend.storeMany([{ taskId: billing, status: states.SUCCESS, result: 1, request: { name: "billing.invoice" } }, { taskId: plain, status: states.SUCCESS, result: 1, request: { name: "x" } }], { now: done });
      const doneAt = (await backend.getTaskMeta(billing)).dateDone!;
      const explained = await cli(["--url", url, "backend-cleanup", "--expires", "1d", "--keep", "name=billing.*=400d", "--explain", billing, plain, "unknown-id"]);
      assert.equal(explained.code, 0, explained.stderr);
      const lines = explained.stdout.trim().split("\n");
      assert.equal(lines[0], `${billing}: SUCCESS, rule name=billing.*=400d: deleted by the first cleanup after ${new Date(doneAt.getTime() + 400 * DAY).toISOString()}`);
      assert.match(lines[1]!, new RegExp(`^${plain}: SUCCESS, rule default=1d: deleted by the first cleanup after `));
      assert.equal(lines[2], "unknown-id: no stored row");
      const held = await cli(["--url", url, "hold", plain, billing, "--reason", "case 118"]);
      assert.equal(held.code, 0, held.stderr);
      assert.match(held.stdout, /^held 2 tasks/);
      const listed = await cli(["--url", url, "--json", "list", "--held"]);
      assert.deepEqual(JSON.parse(listed.stdout).map((t: { task_id: string }) => t.task_id).sort(), [billing, plain].sort());
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
      await b.storeMany(ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 7, request: { name: "etl.load" } })), { now: new Date(Date.now() - 10 * DAY) });
      const refused = await cli(["--url", fresh, "backend-cleanup", "--expires", "never", "--archive-after", "7d"]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /migrate --archive/);
      const migrated = await cli(["--url", fresh, "migrate", "--archive"]);
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stderr, /archive tier ready/);
      const moved = await cli(["--url", fresh, "--json", "backend-cleanup", "--expires", "never", "--archive-after", "7d", "--batch-size", "5"]);
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
      const lock = await backend.driver.cleanupLock(false);
      assert.ok(lock);
      try {
        const refused = await cli(["--url", url, "backend-cleanup"]);
        assert.equal(refused.code, 3, refused.stderr);
        assert.match(refused.stderr, /another backend-cleanup is running/);
        const waiting = cli(["--url", url, "--json", "backend-cleanup", "--wait"]);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await lock.release();
        const waited = await waiting;
        assert.equal(waited.code, 0, waited.stderr);
        assert.equal(JSON.parse(waited.stdout).complete, true);
      } finally {
        await lock.release();
      }
    });

    it("two cleanups started together: one runs, the other is refused or serialized", async () => {
      const [first, second] = await Promise.all([cli(["--url", url, "backend-cleanup"]), cli(["--url", url, "backend-cleanup"])]);
      const codes = [first.code, second.code].sort();
      assert.ok(codes[0] === 0 && (codes[1] === 0 || codes[1] === 3), `exit codes ${codes}`);
    });

    it("passwords in URLs are masked in every line, on success and on every error path", async () => {
      const secretUrl = options.withPassword(url);
      const runs = [
        await cli(["--url", secretUrl, "migrate", "--check"]),
        await cli(["--url", secretUrl, "list", "--bogus-option"]),
        await cli(["--url", "mysql://root:hunter2@db/x", "list"]),
        await cli(["--url", "postgres://app:hunter2@127.0.0.1:1/x", "list"]),
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
      assert.deepEqual(group.members.map((m: { task_id: string; status: string }) => [m.task_id, m.status]), [[x, "SUCCESS"], [y, "PENDING"]]);
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

    it("export streams 100,000 rows as JSON lines or CSV with flat memory", async () => {
      const fresh = await harness.freshUrl("cli_export");
      const b = await openBackend({ url: fresh, resultExtended: true });
      opened.push(b);
      const fill = async (from: number, to: number) => {
        for (let start = from; start < to; start += 10_000) {
          await b.storeMany(Array.from({ length: Math.min(10_000, to - start) }, (_, i) => ({
            taskId: `export-${start + i}`, status: states.SUCCESS, result: { n: start + i, text: "x".repeat(200) }, request: { name: "bulk", args: [start + i] },
          })));
        }
      };
      await fill(0, 10_000);
      // The proof is the heap cap: 100k decoded rows and their 30 MB of JSON could not be held in
      // a 32 MB heap, so the large export only succeeds if it streams. Peak RSS (which also counts
      // driver buffers and pages the allocator keeps) is checked loosely on top.
      const small = await cli(["--url", fresh, "export"], { measureMemory: true, heapLimitMb: 32 });
      assert.equal(small.code, 0, small.stderr);
      assert.equal(small.stdout.trim().split("\n").length, 10_000);
      await fill(10_000, 100_000);
      const large = await cli(["--url", fresh, "export"], { measureMemory: true, heapLimitMb: 32 });
      assert.equal(large.code, 0, large.stderr);
      const lines = large.stdout.trim().split("\n");
      assert.equal(lines.length, 100_000);
      assert.deepEqual(JSON.parse(lines[99_999]!).args, [99_999]);
      // Ten times the rows (about 30 MB of output) must not mean ten times the memory.
      assert.ok(large.maxRssKb! < small.maxRssKb! + 64 * 1024, `peak RSS ${small.maxRssKb} KiB for 10k rows, ${large.maxRssKb} KiB for 100k`);
      const csv = await cli(["--url", fresh, "export", "--format", "csv", "--name", "bulk", "--state", "SUCCESS"]);
      const rows = csv.stdout.trim().split("\n");
      assert.equal(rows.length, 100_001);
      assert.match(rows[0]!, /^task_id,status,name/);
    });
  });
}
