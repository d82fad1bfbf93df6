/**
 * A secret in a database URL never reaches the CLI's output. Every URL form (userinfo
 * with a raw `@`, percent-encoded, Celery's db+ form, `?password=`, `?sslpassword=`, --url=,
 * TASKLEDGER_URL, libpq key/value strings, malformed and unreachable URLs) is fed through every
 * command, on its success and its error paths, in-process through the same program main.ts runs.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { buildProgram } from "../../src/cli/program.js";
import { bufferOutput } from "../../src/cli/output.js";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import type { Harness } from "../helpers/harness.js";

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

/** `url` with its userinfo replaced (PostgreSQL), keeping host, port and database. */
function pgForm(url: string, build: (hostPath: string, user: string) => string): string {
  const parsed = new URL(url);
  return build(`${parsed.host}${parsed.pathname}`, parsed.username || "postgres");
}

function formsFor(dialect: string, url: string): Form[] {
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
  if (dialect === "sqlite") {
    const file = url.replace(/^sqlite:/, "");
    return [
      ...failing,
      { label: "Celery's SQLite URL with ?password=", argv: ["--url", `db+sqlite:///${file}?password=${SECRET}`], works: true },
    ];
  }
  return [
    ...failing,
    { label: "userinfo password", argv: ["--url", pgForm(url, (h, u) => `postgres://${u}:${SECRET}@${h}`)], works: true },
    { label: "userinfo password with a raw @", argv: ["--url", pgForm(url, (h, u) => `postgres://${u}:a@${SECRET}@${h}`)], works: true },
    { label: "percent-encoded password", argv: ["--url", pgForm(url, (h, u) => `postgresql://${u}:${SECRET}%40%2F@${h}`)], works: true },
    {
      label: "Celery's db+postgresql+psycopg2 form",
      argv: ["--url", pgForm(url, (h, u) => `db+postgresql+psycopg2://${u}:${SECRET}@${h}`)],
      works: true,
    },
    { label: "--url= form", argv: [`--url=${pgForm(url, (h, u) => `postgres://${u}:${SECRET}@${h}`)}`], works: true },
    {
      label: "?password= query parameter",
      argv: ["--url", pgForm(url, (h, u) => `postgres://${h}?user=${u}&password=${SECRET}`)],
      works: true,
    },
    {
      label: "?sslpassword= query parameter",
      argv: ["--url", pgForm(url, (h, u) => `postgres://${u}@${h}?sslmode=disable&sslpassword=${SECRET}`)],
      works: true,
    },
    { label: "TASKLEDGER_URL", argv: [], env: pgForm(url, (h, u) => `postgres://${u}:${SECRET}@${h}`), works: true },
  ];
}

async function runInProcess(argv: string[]): Promise<{ code: number; text: string }> {
  const out = bufferOutput();
  const { run } = buildProgram(out);
  const code = await run(argv);
  return { code, text: [...out.stdout, ...out.stderr].join("\n") };
}

export function secretsSuite(harness: Harness, skip: string | false): void {
  describe(`a URL's secret never reaches the CLI's output on ${harness.dialect}`, { skip }, () => {
    let url = "";
    let backend: DatabaseBackend;
    const taskId = randomUUID();
    before(async () => {
      url = await harness.freshUrl("secrets");
      backend = await openBackend({ url, resultExtended: true });
      await backend.markAsFailure(taskId, new Error("boom"), { request: { name: "n", args: [1] } });
    });
    after(async () => {
      await backend.close();
    });

    it("every URL form through every command, on its output and error paths, never shows the password", async () => {
      const saved = process.env["TASKLEDGER_URL"];
      // Unreachable servers fail at once instead of after 15 s of retries; the error path is the same.
      const savedBudget = process.env["TASKLEDGER_RETRY_BUDGET"];
      process.env["TASKLEDGER_RETRY_BUDGET"] = "0";
      try {
        for (const form of formsFor(harness.dialect, url)) {
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
  });
}
