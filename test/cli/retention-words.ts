/** The words for "keep forever" (never, forever, none, any case) everywhere backend-cleanup reads a retention, and misspellings of them. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { states, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

export function retentionWordsSuite(ctx: CliContext): void {
  describe("retention words", () => {
    // Seven rows ten days old; each word's test deletes none of them (and checks so).
    let fresh = "";
    let b: DatabaseBackend;
    let total = 0;
    before(async () => {
      ({ url: fresh, backend: b } = await ctx.freshStore("cli_forever"));
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
      total = await b.audit.count({});
    });

    for (const word of ["Never", "FOREVER", "none"]) {
      it(`"${word}" keeps rows forever everywhere a retention is read: --expires, TASKLEDGER_RESULT_EXPIRES, --keep, --keep-failures, a policy file's expires and rules`, async () => {
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
        const run = await cli(["--url", ctx.url(), "backend-cleanup", ...args, "--dry-run"], { env });
        assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`taskledger: ${option}: cannot read duration`), run.stderr);
        assert.match(run.stderr, /use a duration such as 7d.*or forever, never, none to keep rows forever/);
      }
    });
  });
}
