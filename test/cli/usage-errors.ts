/** Option values every command must refuse as usage errors (exit 2) naming the option: counts, ports and out-of-range times. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bufferOutput } from "../../src/cli/output.js";
import { buildProgram } from "../../src/cli/program.js";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function usageErrorsSuite(ctx: CliContext): void {
  describe("usage errors", () => {
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
        const code = await buildProgram(out).run(["--url", ctx.url(), ...args]);
        const stderr = out.stderr.join("\n");
        assert.equal(code, 2, `${args.join(" ")}: exit ${code}\n${stderr}`);
        assert.ok(stderr.includes(`taskledger: ${option}:`), `${args.join(" ")}: ${stderr}`);
        assert.doesNotMatch(stderr, /unexpected error|Invalid time value|syntax/i);
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
          const run = await cli(["--url", ctx.url(), ...args]);
          assert.equal(run.code, 2, `${args.join(" ")}: exit ${run.code}\n${run.stderr}`);
          assert.ok(
            run.stderr.includes(`taskledger: ${option}: expected a positive integer, e.g. ${option} 100, got "${value}"`),
            `${args.join(" ")}: ${run.stderr}`,
          );
        }
      }
    });

    it("a count with surrounding spaces is read as the integer", async () => {
      const fine = await cli(["--url", ctx.url(), "--json", "list", "--limit", " 7 "]);
      assert.equal(fine.code, 0, fine.stderr);
    });

    it("serve --port takes 0 to 65535 only; anything else exits 2 saying so", async () => {
      for (const value of ["70000", "65536", "-1", "80.5", "abc"]) {
        const run = await cli(["--url", ctx.url(), "serve", "--port", value]);
        assert.equal(run.code, 2, `--port ${value}: ${run.stderr}`);
        assert.ok(run.stderr.includes(`taskledger: --port: expected a port from 1 to 65535, or 0 to pick a free one`), run.stderr);
      }
    });
  });
}
