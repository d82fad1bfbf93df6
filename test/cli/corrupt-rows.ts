/** Rows whose stored values cannot be decoded: list, export, show and cleanup report them in place and complete. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

type Row = { task_id: string; error: string | null; result: unknown };

export function corruptRowsSuite(ctx: CliContext): void {
  describe("corrupt rows", () => {
    it("a corrupt row never stops list, export or cleanup", async () => {
      const { url, backend: b } = await ctx.freshStore("cli_corrupt_one");
      const bad = randomUUID();
      await b.markAsDone(bad, 1, { now: new Date(Date.now() - 30 * DAY) });
      await ctx.harness.setRaw(url, bad, "result", Buffer.from([0x80, 0x05, 0x95]));
      const listed = await cli(["--url", url, "--json", "list", "--limit", "1000"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(JSON.parse(listed.stdout).find((r: { task_id: string }) => r.task_id === bad).error, /cannot be decoded/);
      const exported = await cli(["--url", url, "export", "--format", "csv"]);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stderr, /undecodable/);
      assert.equal((await cli(["--url", url, "backend-cleanup"])).code, 0);
      assert.equal(await b.exists(bad), false);
    });

    describe("a row holding a cycle, a 5,000-deep value or a value of the wrong type", () => {
      let url = "";
      // Bad values by task id: [column, raw value].
      const bad: { [id: string]: [string, Buffer | string | number] } = {
        "object-message": [
          "result",
          Buffer.from(JSON.stringify({ exc_type: "ValueError", exc_module: "builtins", exc_message: [{ toString: 1 }] })),
        ],
        // A pickled list that contains itself: EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP.
        "self-reference": ["result", Buffer.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])],
        "deep-pickle": [
          "result",
          Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(5000, 0x5d), Buffer.alloc(4999, 0x61), Buffer.from([0x2e])]),
        ],
        "deep-json": ["result", Buffer.from("[".repeat(5000) + "]".repeat(5000))],
        // Not only result: setRaw writes the column it names.
        "bad-args": ["args", "{not json"],
        // Whatever the dialect's columns hold that they should not (SQLite keeps any storage class).
        ...ctx.harness.wrongTypeValues(),
      };
      // An exception whose message holds an object reads, its message as text.
      const ids = Object.keys(bad).filter((id) => id !== "object-message");
      const every = [...ids, "object-message", "fine-before", "fine-after"].sort();
      const records = (text: string) =>
        text
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line) as Row);
      const checkRecords = (label: string, rows: Row[]) => {
        assert.deepEqual(rows.map((r) => r.task_id).sort(), every, label);
        for (const row of rows) {
          if (ids.includes(row.task_id))
            assert.match(row.error ?? "", new RegExp(`task ${row.task_id} cannot be decoded: .+`), `${label}: ${row.task_id}`);
          else assert.equal(row.error, null);
        }
        assert.equal(rows.find((r) => r.task_id === "fine-after")!.result, 2);
      };
      before(async () => {
        const store = await ctx.freshStore("cli_corrupt");
        url = store.url;
        const b = store.backend;
        for (const id of Object.keys(bad)) await b.markAsFailure(id, new Error("x"));
        await b.markAsDone("fine-before", 1);
        for (const [id, [column, value]] of Object.entries(bad)) await ctx.harness.setRaw(url, id, column, value);
        await b.markAsDone("fine-after", 2);
      });

      it("list prints every row as a table and names each undecodable one on stderr", async () => {
        const table = await cli(["--url", url, "list"]);
        assert.equal(table.code, 0, table.stderr);
        for (const id of every) assert.ok(table.stdout.includes(id), `list lost ${id}`);
        for (const id of ids) assert.match(table.stderr, new RegExp(`task ${id} cannot be decoded`));
      });

      it("list --json and list --jsonl report each undecodable row in place, an object message as text", async () => {
        const json = await cli(["--url", url, "--json", "list"]);
        assert.equal(json.code, 0, json.stderr);
        checkRecords("list --json", JSON.parse(json.stdout));
        const jsonl = await cli(["--url", url, "list", "--jsonl"]);
        assert.equal(jsonl.code, 0, jsonl.stderr);
        checkRecords("list --jsonl", records(jsonl.stdout));
      });

      it("export reports each undecodable row in place as JSON lines, and as CSV with a count on stderr", async () => {
        const exported = await cli(["--url", url, "export"]);
        assert.equal(exported.code, 0, exported.stderr);
        checkRecords("export", records(exported.stdout));
        const csv = await cli(["--url", url, "export", "--format", "csv"]);
        assert.equal(csv.code, 0, csv.stderr);
        for (const id of every) assert.match(csv.stdout, new RegExp(`^${id},`, "m"));
        assert.match(csv.stderr, new RegExp(`${ids.length} with undecodable values`));
      });

      it("show reports each undecodable row in place, as text and --json", async () => {
        const shown = await cli(["--url", url, "show", ...ids, "fine-after"]);
        assert.equal(shown.code, 0, shown.stderr);
        for (const id of ids) assert.match(shown.stdout, new RegExp(`task ${id} cannot be decoded`));
        const shownJson = await cli(["--url", url, "--json", "show", ...every]);
        assert.equal(shownJson.code, 0, shownJson.stderr);
        checkRecords("show --json", JSON.parse(shownJson.stdout));
      });
    });
  });
}
