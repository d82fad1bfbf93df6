/** `taskledger migrate`: pending and applied migrations, --check's exit code, and the history switch. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { hasFact } from "../helpers/harness.js";
import type { CliContext } from "./context.js";

export function migrateSuite(ctx: CliContext): void {
  describe("migrate", () => {
    /** A database that exists and holds nothing (on SQLite the first connection creates the file). */
    async function emptyDatabase(label: string): Promise<string> {
      const url = await ctx.harness.freshUrl(label);
      await (await openBackend({ url, migrate: false })).close();
      return url;
    }

    // One database through its life: empty, migrated, then migrated again.
    describe(
      "one database, empty then migrated",
      {
        skip:
          !hasFact(ctx.harness, "migrateIsWholeSetup") &&
          "the Citus harness's databases are set up by migrate and then migrate --distribute; test/citus/citus.citus.test.ts runs migrate --distribute on bare ones",
      },
      () => {
        let fresh = "";
        before(async () => {
          fresh = await emptyDatabase("cli_migrate");
        });

        it("migrate --check on an empty database lists every migration as pending and exits 1", async () => {
          const pending = await cli(["--url", fresh, "--json", "migrate", "--check"]);
          assert.equal(pending.code, 1, pending.stderr);
          assert.deepEqual(JSON.parse(pending.stdout).pending, ctx.harness.migrationTags());
        });

        it("migrate applies the pending migrations and names them", async () => {
          const applied = await cli(["--url", fresh, "migrate"]);
          assert.equal(applied.code, 0, applied.stderr);
          assert.match(applied.stdout, /applied 0000_init, /);
        });

        it("migrate on an up-to-date database applies nothing, and --check then says up to date with exit 0", async () => {
          const again = await cli(["--url", fresh, "--json", "migrate"]);
          assert.equal(again.code, 0);
          assert.deepEqual(JSON.parse(again.stdout).appliedNow, []);
          const check = await cli(["--url", fresh, "migrate", "--check"]);
          assert.equal(check.code, 0);
          assert.match(check.stdout, /up to date/);
        });
      },
    );

    it(
      "a fresh migrate, run as a process the way cron runs it, prints nothing on stderr: no driver warning",
      {
        skip:
          !hasFact(ctx.harness, "migrateIsWholeSetup") &&
          "the Citus harness's databases are set up by migrate and then migrate --distribute; test/citus/citus.citus.test.ts runs migrate --distribute on bare ones",
      },
      async () => {
        const fresh = await ctx.harness.freshUrl("cli_migrate_quiet");
        const run = await cli(["--url", fresh, "migrate"], { subprocess: true });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /applied 0000_init, /);
        assert.doesNotMatch(run.stderr, /Warning/);
        assert.equal(run.stderr, "");
      },
    );

    describe("the history switch", () => {
      let fresh = "";
      let b: DatabaseBackend;
      before(async () => {
        fresh = await ctx.harness.freshUrl("cli_history");
      });

      it("migrate --no-history switches history off for every writer", async () => {
        const off = await cli(["--url", fresh, "--json", "migrate", "--no-history"]);
        assert.equal(off.code, 0, off.stderr);
        assert.equal(JSON.parse(off.stdout).history, false);
        b = await ctx.open(fresh);
        const task = randomUUID();
        await b.markAsDone(task, 1);
        assert.deepEqual(await b.getTaskHistory(task), []);
      });

      it("migrate --history switches history back on for writers already open", async () => {
        const on = await cli(["--url", fresh, "migrate", "--history"]);
        assert.equal(on.code, 0, on.stderr);
        assert.match(on.stdout, /history switched on/);
        const later = randomUUID();
        await b.markAsDone(later, 1);
        assert.equal((await b.getTaskHistory(later)).length, 1);
      });
    });
  });
}
