/** `backend-cleanup --explain`, `hold`, `release` and `list --held`: which rule keeps a row, and legal holds. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { states, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

export function holdSuite(ctx: CliContext): void {
  describe("backend-cleanup --explain, hold and release", () => {
    const billing = randomUUID();
    const plain = randomUUID();
    let url = "";
    let b: DatabaseBackend;
    before(async () => {
      ({ url, backend: b } = await ctx.freshStore("cli_hold"));
      await b.storeMany(
        [
          { taskId: billing, status: states.SUCCESS, result: 1, request: { name: "billing.invoice" } },
          { taskId: plain, status: states.SUCCESS, result: 1, request: { name: "x" } },
        ],
        { now: new Date(Date.now() - 3 * DAY) },
      );
    });

    it("--explain prints each task's rule and the first cleanup that deletes it; an unknown id has no row", async () => {
      const doneAt = (await b.getTaskMeta(billing)).dateDone!;
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
    });

    it("hold holds tasks with a reason, and list --held lists them", async () => {
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
    });

    it("--explain on a held task says since when and why, and that it is kept until released", async () => {
      const explainHeld = await cli(["--url", url, "backend-cleanup", "--explain", plain]);
      assert.match(explainHeld.stdout, /held since .* \(case 118\): kept until released/);
    });

    it("backend-cleanup keeps held rows past their retention", async () => {
      const cleaned = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "1d"]);
      assert.equal(cleaned.code, 0, cleaned.stderr);
      assert.ok((await b.exists(plain)) && (await b.exists(billing)), "held rows survive cleanup");
    });

    it("release releases held tasks, counts those that were not held, and list --held is then empty", async () => {
      const released = await cli(["--url", url, "release", plain, billing, "never-held"]);
      assert.match(released.stdout, /^released 2 of 3 tasks \(1 were not held\)/);
      assert.equal((await cli(["--url", url, "--json", "list", "--held"])).stdout.trim(), "[]");
    });

    it("a released row is deleted by the next cleanup", async () => {
      await cli(["--url", url, "backend-cleanup", "--expires", "1d"]);
      assert.equal(await b.exists(plain), false);
    });
  });
}
