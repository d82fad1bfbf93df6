/** `taskledger list`: filters by state, name, worker, queue and time, as a table, JSON or JSON lines. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { cli } from "../helpers/cli.js";
import { DAY, type CliContext } from "./context.js";

const taskIds = (rows: { task_id: string }[]) => rows.map((r) => r.task_id);

export function listSuite(ctx: CliContext): void {
  describe("list", () => {
    const now = Date.now();
    const ids = { a: randomUUID(), b: randomUUID(), c: randomUUID() };
    let url = "";
    before(async () => {
      url = ctx.url();
      const b = ctx.backend();
      await b.markAsDone(ids.a, 1, { request: { name: "audit.a", worker: "wa", queue: "qa" }, now: new Date(now - 3 * DAY) });
      await b.markAsFailure(ids.b, new Error("x"), {
        request: { name: "audit.b", worker: "wb", queue: "qb" },
        now: new Date(now - 2 * DAY),
      });
      await b.markAsDone(ids.c, 3, { request: { name: "audit.b", worker: "wb", queue: "qb" }, now: new Date(now - 1 * DAY) });
    });

    it("list --name lists that task's rows, newest first", async () => {
      const byName = JSON.parse((await cli(["--url", url, "--json", "list", "--name", "audit.b"])).stdout);
      assert.deepEqual(taskIds(byName), [ids.c, ids.b]);
    });

    it("list --state and --worker together list the rows matching both", async () => {
      const failed = JSON.parse((await cli(["--url", url, "--json", "list", "--state", "failure", "--worker", "wb"])).stdout);
      assert.deepEqual(taskIds(failed), [ids.b]);
    });

    it("list --since a duration and --until a date list the rows between them; --name takes a comma list", async () => {
      const args = ["--name", "audit.a,audit.b", "--since", "60h", "--until", new Date(now - 1.5 * DAY).toISOString()];
      const window = JSON.parse((await cli(["--url", url, "--json", "list", ...args])).stdout);
      assert.deepEqual(taskIds(window), [ids.b]);
    });

    it("list --jsonl prints one JSON object a line; --queue filters", async () => {
      const jsonl = (await cli(["--url", url, "list", "--jsonl", "--queue", "qa"])).stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        jsonl.map((r) => r.task_id),
        [ids.a],
      );
    });

    it("list prints a table with a header, at most --limit rows", async () => {
      const table = await cli(["--url", url, "list", "--name", "audit.b", "--limit", "1"]);
      assert.equal(table.code, 0);
      assert.match(table.stdout, /^TASK ID\s+STATE\s+NAME/);
      assert.ok(table.stdout.includes(ids.c) && !table.stdout.includes(ids.b));
    });

    it("list --since a value that is no duration or date exits 2 naming the option", async () => {
      const bad = await cli(["--url", url, "list", "--since", "yesterday-ish"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--since/);
    });
  });
}
