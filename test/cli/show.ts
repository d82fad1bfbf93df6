/** `taskledger show`: every field of a task, its history timeline, and --json. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import type { CliContext } from "./context.js";

export function showSuite(ctx: CliContext): void {
  describe("show", () => {
    const failed = randomUUID();
    const timed = randomUUID();
    const t0 = Date.now() - 60_000;
    const at = (s: number) => new Date(t0 + s * 1000);
    let url = "";
    before(async () => {
      url = ctx.url();
      const b = ctx.backend();
      await b.markAsFailure(failed, new TypeError("bad row 7"), {
        request: { name: "etl.load", args: [7], kwargs: { table: "orders" }, worker: "w9", queue: "etl", parentId: "p-1" },
      });
      await b.markAsSent(timed, { name: "etl.timeline" }, { now: at(0) });
      await b.markAsStarted(timed, null, { request: { name: "etl.timeline", worker: "w1" }, now: at(1.5) });
      await b.markAsRetry(timed, new RangeError("db busy"), { request: { name: "etl.timeline", worker: "w1" }, now: at(2) });
      await b.markAsStarted(timed, null, { request: { name: "etl.timeline", worker: "w2", retries: 1 }, now: at(12) });
      await b.markAsDone(timed, 1, { request: { name: "etl.timeline", worker: "w2", retries: 1 }, now: at(15) });
    });

    it("show prints every field of a task", async () => {
      const text = await cli(["--url", url, "show", failed]);
      assert.equal(text.code, 0, text.stderr);
      for (const expected of [
        failed,
        "FAILURE",
        "etl.load",
        "w9",
        "etl",
        "p-1",
        '{"table":"orders"}',
        "TypeError: bad row 7",
        "traceback:",
      ])
        assert.ok(text.stdout.includes(expected), `missing ${expected}\n${text.stdout}`);
    });

    it("show --json gives the decoded result and args, and an unknown id exits 1 as exists: false", async () => {
      const json = await cli(["--url", url, "--json", "show", failed, "nope"]);
      assert.equal(json.code, 1);
      const [shown, unknown] = JSON.parse(json.stdout);
      assert.equal(shown.status, "FAILURE");
      assert.deepEqual(shown.result, { exc_type: "TypeError", exc_module: "builtins", exc_message: ["bad row 7"] });
      assert.deepEqual(shown.args, [7]);
      assert.equal(unknown.exists, false);
    });

    it("show prints the history timeline with durations and each failed attempt's exception", async () => {
      const text = await cli(["--url", url, "show", timed]);
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
    });

    it("show --json includes the history, each failed attempt with its error", async () => {
      const [shown] = JSON.parse((await cli(["--url", url, "--json", "show", timed])).stdout);
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
  });
}
