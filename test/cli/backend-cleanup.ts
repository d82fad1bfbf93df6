/** `taskledger backend-cleanup`: the dry run, retention by --expires, --keep-failures, --keep rules and a --policy file. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { states, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

export function backendCleanupSuite(ctx: CliContext): void {
  describe("backend-cleanup: retention", () => {
    // 40 SUCCESS and 7 FAILURE 10 days old, 3 FAILURE 100 days old, 5 SUCCESS a day old, a group 10 days old.
    let url = "";
    let b: DatabaseBackend;
    let total = 0;
    before(async () => {
      ({ url, backend: b } = await ctx.freshStore("cli_cleanup"));
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
      total = await b.audit.count({});
    });

    it("backend-cleanup --dry-run counts what would go and deletes nothing", async () => {
      const dry = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "7d", "--keep-failures", "90d", "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      const counted = JSON.parse(dry.stdout);
      assert.equal(counted.dryRun, true);
      assert.equal(counted.tasks, 43);
      assert.equal(counted.groups, 1);
      assert.equal(await b.audit.count({}), total, "the dry run deleted rows");
    });

    it("a real backend-cleanup deletes what --expires and --keep-failures let go, in one summary line", async () => {
      const real = await cli(["--url", url, "backend-cleanup", "--expires", "7d", "--keep-failures", "90d", "--batch-size", "10"]);
      assert.equal(real.code, 0, real.stderr);
      assert.match(
        real.stdout,
        /^backend-cleanup: deleted 43 expired task rows, 1 group rows, 0 stale unready rows in .*kept results newer than 7d, FAILURE newer than 90d/m,
      );
      assert.equal(real.stdout.trim().split("\n").length, 1, "one summary line under cron");
      assert.equal(await b.audit.count({}), total - 43);
      assert.equal(await b.audit.count({ states: [states.FAILURE] }), 7);
    });
  });

  describe("backend-cleanup: --keep rules and --policy files", () => {
    let url = "";
    let b: DatabaseBackend;
    const args = ["--expires", "7d", "--keep", "name=billing.*=400d", "queue=audit=forever", "--keep-failures", "90d"];
    const dir = mkdtempSync(join(tmpdir(), "tl-policy-"));
    const policy = (body: unknown) => {
      const path = join(dir, `${randomUUID()}.json`);
      writeFileSync(path, JSON.stringify(body));
      return path;
    };
    before(async () => {
      ({ url, backend: b } = await ctx.freshStore("cli_rules"));
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
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("--dry-run with --keep rules (name, queue) and --keep-failures counts per rule", async () => {
      const dry = await cli(["--url", url, "backend-cleanup", ...args, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would delete 10 expired task rows/);
      for (const line of ["state=FAILURE=90d: 5", "name=billing.*=400d: 2", "queue=audit=forever: 0", "default=7d: 3"])
        assert.ok(dry.stdout.includes(line), `missing "${line}"\n${dry.stdout}`);
    });

    it("a --policy file's expires and rules count the same as the flags", async () => {
      const file = policy({
        expires: "7d",
        rules: [
          { name: "billing.*", keep: "400d" },
          { queue: "audit", keep: "forever" },
          { state: "FAILURE", keep: "90d" },
        ],
      });
      const fromFile = await cli(["--url", url, "--json", "backend-cleanup", "--policy", file, "--dry-run"]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(JSON.parse(fromFile.stdout).tasks, 10);
    });

    it("a policy rule with an unknown field exits 2 naming the rule and the field", async () => {
      const file = policy({
        rules: [
          { name: "billing.*", keep: "400d" },
          { queue: "audit", kepe: "forever" },
        ],
      });
      const bad = await cli(["--url", url, "backend-cleanup", "--policy", file]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /rules\[1\].*"queue":"audit".*unknown field "kepe"/);
    });

    it("a --keep rule with an unknown key exits 2 saying which keys there are", async () => {
      const badKeep = await cli(["--url", url, "backend-cleanup", "--keep", "nmae=billing.*=400d"]);
      assert.equal(badKeep.code, 2);
      assert.match(badKeep.stderr, /"nmae=billing\.\*".*expected state=, name= or queue=/);
    });

    it("a --policy file that does not exist exits 2", async () => {
      const missing = await cli(["--url", url, "--json", "backend-cleanup", "--policy", join(dir, "missing.json")]);
      assert.equal(missing.code, 2);
    });

    it("a real run with --keep rules deletes what the rules let go and keeps the rest", async () => {
      const run = await cli(["--url", url, "--json", "backend-cleanup", ...args]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).tasks, 10);
      assert.equal(await b.audit.count({}), 10);
    });
  });
}
