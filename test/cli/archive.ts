/** `migrate --archive` and `backend-cleanup --archive-after`: the archive tier from the CLI, read by show, list, stats and export. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { states } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

export function archiveSuite(ctx: CliContext): void {
  describe("the archive tier from the CLI", () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    let url = "";
    before(async () => {
      const store = await ctx.freshStore("cli_archive");
      url = store.url;
      await store.backend.storeMany(
        ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 7, request: { name: "etl.load" } })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
    });

    it("backend-cleanup --archive-after before migrate --archive exits 2 and says to run it", async () => {
      const refused = await cli(["--url", url, "backend-cleanup", "--expires", "never", "--archive-after", "7d"]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /migrate --archive/);
    });

    it("migrate --archive creates the archive tier and says so", async () => {
      const migrated = await cli(["--url", url, "migrate", "--archive"]);
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stderr, /archive tier ready/);
    });

    it("backend-cleanup --archive-after moves every row past the age, batch by batch", async () => {
      const moved = await cli([
        "--url",
        url,
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
    });

    it("show, list, stats --all and export still read the archived rows", async () => {
      const shown = await cli(["--url", url, "--json", "show", ids[0]!]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal(JSON.parse(shown.stdout)[0].result, 7);
      const listed = await cli(["--url", url, "--json", "list", "--name", "etl.load"]);
      assert.equal(JSON.parse(listed.stdout).length, 12);
      const stats = await cli(["--url", url, "--json", "stats", "--all"]);
      assert.equal(JSON.parse(stats.stdout).total, 12);
      const exported = await cli(["--url", url, "export"]);
      assert.equal(exported.stdout.trim().split("\n").length, 12);
    });
  });
}
