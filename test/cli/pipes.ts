/** Output into a closed pipe (`| head`): the process exits quietly. Needs a real process and pipe. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { states } from "../../src/index.js";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function pipesSuite(ctx: CliContext): void {
  describe("closed pipes", () => {
    it("writing into a closed pipe (export | head, list | head, --help | head) exits quietly with no stack trace", async () => {
      const [url, backend] = [ctx.url(), ctx.backend()];
      await backend.storeMany(Array.from({ length: 2000 }, (_, i) => ({ taskId: `pipe-${i}`, status: states.SUCCESS, result: { i } })));
      for (const args of [["export"], ["export", "--format", "csv"], ["list", "--jsonl", "--limit", "2000"], ["list"], ["--help"]]) {
        const run = await cli(["--url", url, ...args], { closeStdout: true });
        assert.equal(run.code, 0, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
        assert.doesNotMatch(run.stderr, /EPIPE|Error|at /, args.join(" "));
      }
    });
  });
}
