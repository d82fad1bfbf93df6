/**
 * A secret in a database URL never reaches the CLI's output. Every URL form (userinfo
 * with a raw `@`, percent-encoded, Celery's db+ form, `?password=`, `?sslpassword=`, --url=,
 * TASKLEDGER_URL, libpq key/value strings, malformed and unreachable URLs) is fed through every
 * command, on its success and its error paths, in-process through the same program main.ts runs.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { buildProgram } from "../../src/cli/program.js";
import { bufferOutput } from "../../src/cli/output.js";
import { cli } from "../helpers/cli.js";
import type { Harness } from "../helpers/harness.js";
import type { CliContext } from "./context.js";

const SECRET = "Zq7-hunter2-Xy";

/** Every command, with the arguments that reach its output and its usage errors. */
function commands(taskId: string): string[][] {
  return [
    ["migrate", "--check"],
    ["--json", "migrate", "--check"],
    ["migrate"],
    ["--json", "migrate"],
    ["list"],
    ["list", "--jsonl"],
    ["--json", "list"],
    ["list", "--since", "bogus"],
    ["list", "--bogus-option"],
    ["show", taskId],
    ["--json", "show", taskId, "unknown-id"],
    ["stats"],
    ["--json", "stats", "--all"],
    ["export"],
    ["export", "--format", "csv"],
    ["export", "--format", "xml"],
    ["forget", "unknown-id"],
    ["--json", "forget", "unknown-id"],
    ["groups", "show", "no-group"],
    ["--json", "groups", "show", "no-group"],
    ["backend-cleanup", "--dry-run"],
    ["--json", "backend-cleanup"],
    ["backend-cleanup", "--expires", "soon"],
    ["--help"],
    ["list", "--help"],
  ];
}

interface Form {
  label: string;
  /** argv before the command, and the environment, that carry the URL. */
  argv: string[];
  env?: string;
  /** Whether commands reach the database (exit 0) rather than fail on the URL. */
  works: boolean;
}

/** Forms that fail on every dialect, then the harness's forms that reach the database at `url`. */
function formsFor(harness: Harness, url: string): Form[] {
  const failing: Form[] = [
    { label: "libpq key/value string", argv: ["--url", `host=127.0.0.1 port=1 password=${SECRET} dbname=x`], works: false },
    { label: "libpq key/value string, quoted", argv: ["--url", `dbname=x password='${SECRET} x'`], works: false },
    { label: "unreachable server, userinfo with a raw @", argv: ["--url", `postgres://app:p@${SECRET}@127.0.0.1:1/x`], works: false },
    { label: "unreachable server, ?password=", argv: ["--url", `postgres://127.0.0.1:1/x?user=u&password=${SECRET}`], works: false },
    { label: "malformed URL", argv: ["--url", `postgres://app:${SECRET}@[broken/x`], works: false },
    { label: "malformed URL, / in the password", argv: ["--url", `postgres://app:se/${SECRET}@db/x`], works: false },
    { label: "unsupported database", argv: ["--url", `mssql://root:${SECRET}@db/x`], works: false },
    { label: "missing SQLite file with ?password=", argv: ["--url", `sqlite:/nonexistent-dir/x.db?password=${SECRET}`], works: false },
  ];
  return [...failing, ...harness.secretUrlForms(url, SECRET).map((form) => ({ ...form, works: true }))];
}

async function runInProcess(argv: string[]): Promise<{ code: number; text: string }> {
  const out = bufferOutput();
  const { run } = buildProgram(out);
  const code = await run(argv);
  return { code, text: [...out.stdout, ...out.stderr].join("\n") };
}

export function secretsSuite(ctx: CliContext): void {
  describe("a URL's secret never reaches the CLI's output", () => {
    let url = "";
    const taskId = randomUUID();
    before(async () => {
      url = ctx.url();
      await ctx.backend().markAsFailure(taskId, new Error("boom"), { request: { name: "n", args: [1] } });
    });

    it("every URL form through every command, on its output and error paths, never shows the password", async () => {
      const saved = process.env["TASKLEDGER_URL"];
      // Unreachable servers fail at once instead of after 15 s of retries; the error path is the same.
      const savedBudget = process.env["TASKLEDGER_RETRY_BUDGET"];
      process.env["TASKLEDGER_RETRY_BUDGET"] = "0";
      try {
        for (const form of formsFor(ctx.harness, url)) {
          if (form.env === undefined) delete process.env["TASKLEDGER_URL"];
          else process.env["TASKLEDGER_URL"] = form.env;
          const runs = await Promise.all(
            commands(taskId).map(async (command) => ({ command, ...(await runInProcess([...form.argv, ...command])) })),
          );
          for (const { command, code, text } of runs) {
            const where = `${form.label}: taskledger ${command.join(" ")} (exit ${code})`;
            assert.ok(!text.includes(SECRET) && !text.includes("hunter2"), `${where} printed the secret:\n${text}`);
          }
          const listed = runs.find((r) => r.command.join(" ") === "list")!;
          if (form.works) assert.equal(listed.code, 0, `${form.label}: list should work:\n${listed.text}`);
          else assert.ok(listed.code === 1 || listed.code === 2, `${form.label}: list should fail, exit ${listed.code}:\n${listed.text}`);
        }
      } finally {
        if (saved === undefined) delete process.env["TASKLEDGER_URL"];
        else process.env["TASKLEDGER_URL"] = saved;
        if (savedBudget === undefined) delete process.env["TASKLEDGER_RETRY_BUDGET"];
        else process.env["TASKLEDGER_RETRY_BUDGET"] = savedBudget;
      }
    });

    it("a libpq key/value string is refused as a usage error that does not echo it", async () => {
      const refused = await runInProcess(["--url", `host=db user=app password=${SECRET}`, "list"]);
      assert.equal(refused.code, 2);
      assert.match(refused.text, /key\/value connection strings .* are not supported; write it as a URL/);
      assert.doesNotMatch(refused.text, /host=db|user=app/);
    });

    it("passwords in URLs are masked in every line, on success and on every error path", async () => {
      const secretUrl = ctx.harness.withPassword(url, "hunter2");
      const runs = [
        await cli(["--url", secretUrl, "migrate", "--check"]),
        await cli(["--url", secretUrl, "list", "--bogus-option"]),
        await cli(["--url", "mssql://root:hunter2@db/x", "list"]),
        await cli(["--url", "postgres://app:hunter2@127.0.0.1:1/x", "list"], { env: { TASKLEDGER_RETRY_BUDGET: "0" } }),
        await cli(["--url", "postgres://app:hunter2@[broken/x", "stats"]),
        await cli(["--help"], { env: { TASKLEDGER_URL: "postgres://app:hunter2@db/x" } }),
      ];
      for (const run of runs) {
        assert.doesNotMatch(run.stdout + run.stderr, /hunter2/);
      }
      // Where the URL can carry a password, the command that worked printed it masked.
      if (secretUrl.includes("hunter2")) assert.match(runs[0]!.stdout, /\*\*\*/);
      assert.equal(runs[1]!.code, 2);
      assert.equal(runs[2]!.code, 2);
      assert.equal(runs[3]!.code, 1);
      assert.equal(runs[4]!.code, 2);
    });
  });
}
