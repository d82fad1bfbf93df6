/**
 * Retention input the CLI must refuse before it deletes anything: durations too long for a date
 * on either database, and rules naming a state no row holds (a typo of FAILURE would hand
 * failures to the default retention). Run in-process through the program main.ts runs.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { states, type DatabaseBackend } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

const DAY = 86_400_000;

export function retentionInputSuite(ctx: CliContext): void {
  describe("backend-cleanup refuses retention input it cannot honour", () => {
    let url = "";
    let b: DatabaseBackend;
    let failure = "";
    const dir = mkdtempSync(join(tmpdir(), "tl-retention-input-"));
    const policy = (body: unknown) => {
      const path = join(dir, `${randomUUID()}.json`);
      writeFileSync(path, JSON.stringify(body));
      return path;
    };
    before(async () => {
      ({ url, backend: b } = await ctx.freshStore("cli_retention_input"));
      failure = randomUUID();
      await b.storeMany([{ taskId: failure, status: states.FAILURE, result: new Error("boom") }], { now: new Date(Date.now() - 10 * DAY) });
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it("a retention or age longer than 36500d (100 years) exits 2 naming the option and the longest accepted, on every way in", async () => {
      const cases: [string[], NodeJS.ProcessEnv, string][] = [
        [["--expires", "99999999999999d"], {}, "--expires"],
        [["--expires", "1000000d"], {}, "--expires"],
        [["--expires", "36501d"], {}, "--expires"],
        [["--keep", "FAILURE=1000000d"], {}, "--keep"],
        [["--keep", "name=x.*=1000000d"], {}, "--keep"],
        [["--keep-failures", "1000000d"], {}, "--keep-failures"],
        [["--stale-after", "1000000d"], {}, "--stale-after"],
        [["--archive-after", "1000000d"], {}, "--archive-after"],
        [[], { TASKLEDGER_RESULT_EXPIRES: "1000000d" }, "TASKLEDGER_RESULT_EXPIRES"],
        [["--policy", policy({ expires: "1000000d", rules: [] })], {}, "expires"],
        [["--policy", policy({ rules: [{ state: "FAILURE", keep: "1000000d" }] })], {}, "rules[0]"],
      ];
      for (const [args, env, option] of cases) {
        for (const dryRun of [["--dry-run"], []]) {
          const run = await cli(["--url", url, "backend-cleanup", ...args, ...dryRun], { env });
          const what = `${[...args, ...dryRun].join(" ")} ${JSON.stringify(env)}`;
          assert.equal(run.code, 2, `${what}: exit ${run.code}\n${run.stderr}`);
          assert.ok(run.stderr.includes(option), `${what}: ${run.stderr}`);
          assert.match(run.stderr, /is longer than the longest accepted, 36500d \(100 years\)/, what);
          assert.doesNotMatch(run.stderr, /Invalid time value|out of range|unexpected/i, what);
        }
      }
      const longest = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "36500d", "--keep", "FAILURE=36500d"]);
      assert.equal(longest.code, 0, longest.stderr);
      assert.equal(JSON.parse(longest.stdout).tasks, 0);
      assert.equal((await b.getTaskMeta(failure)).status, states.FAILURE, "nothing was deleted");
    });

    it("list --since a duration or date before year 1 exits 2 naming the option", async () => {
      for (const since of ["1000000d", "0000-12-31"]) {
        const run = await cli(["--url", url, "list", "--since", since]);
        assert.equal(run.code, 2, `--since ${since}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`taskledger: --since: "${since}" reaches before 0001-01-01`), run.stderr);
      }
    });

    it("a rule naming a state that is not one exits 2 with a did-you-mean, and deletes nothing", async () => {
      const cases: [string[], RegExp][] = [
        [["--keep", "FAILED=forever"], /taskledger: --keep: "FAILED" is not a task state; did you mean FAILURE\?/],
        [["--keep", "state=faild,name=x.*=forever"], /taskledger: --keep: "FAILD" is not a task state; did you mean FAILURE\?/],
        [["--keep", "DONE=forever"], /taskledger: --keep: "DONE" is not a task state\. States are PENDING, /],
        [
          ["--policy", policy({ rules: [{ state: ["SUCCESS", "FAILED"], keep: "forever" }] })],
          /rules\[0\].*"FAILED" is not a task state; did you mean FAILURE\?/,
        ],
        [["--custom-state", "PROGRESS", "--keep", "PROGRES=1d"], /"PROGRES" is not a task state; did you mean PROGRESS\?/],
      ];
      for (const [args, message] of cases) {
        const run = await cli(["--url", url, "backend-cleanup", "--expires", "1d", ...args]);
        assert.equal(run.code, 2, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
        assert.match(run.stderr, message, args.join(" "));
        assert.match(run.stderr, /declare it: --custom-state /, args.join(" "));
      }
      assert.equal((await b.getTaskMeta(failure)).status, states.FAILURE, "the failure outlived every refused run");
    });

    it("custom states declared with --custom-state or a policy's customStates may be named by rules", async () => {
      const fromFlag = await cli([
        "--url",
        url,
        "backend-cleanup",
        "--custom-state",
        "progress",
        "--keep",
        "PROGRESS=forever",
        "name=x.*,state=Progress=2d",
        "--dry-run",
      ]);
      assert.equal(fromFlag.code, 0, fromFlag.stderr);
      assert.match(fromFlag.stdout, /state=PROGRESS=forever: 0/);
      const file = policy({ customStates: ["PROGRESS"], rules: [{ state: ["PROGRESS", "FAILURE"], keep: "forever" }] });
      const fromFile = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "1d", "--policy", file, "--keep", "PROGRESS=3d"]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.equal(JSON.parse(fromFile.stdout).tasks, 0);
      assert.equal((await b.getTaskMeta(failure)).status, states.FAILURE, "the policy's rule kept the failure");
      const badName = await cli(["--url", url, "backend-cleanup", "--custom-state", "IN-FLIGHT", "--dry-run"]);
      assert.equal(badName.code, 2, badName.stderr);
      assert.match(badName.stderr, /taskledger: --custom-state: custom states are a list of names/);
      const badList = await cli([
        "--url",
        url,
        "backend-cleanup",
        "--policy",
        policy({ customStates: "PROGRESS", rules: [] }),
        "--dry-run",
      ]);
      assert.equal(badList.code, 2, badList.stderr);
      assert.match(badList.stderr, /customStates: custom states are a list of names/);
    });
  });
}
