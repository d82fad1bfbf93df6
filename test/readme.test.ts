/**
 * The README's library examples are files under examples/, shown verbatim in the README and run
 * here as they are, against a fresh SQLite file (and PostgreSQL when it answers). Each runs as
 * plain `node` on JavaScript compiled once by esbuild, importing the built package as a user's
 * program does ("taskledger" resolves to dist/): ~0.1 s a run instead of 1-2 s through tsx.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { transformSync } from "esbuild";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { pgHarness } from "./helpers/pg-harness.js";
import { pgSkip } from "./helpers/pg.js";
import { sqliteHarness } from "./helpers/sqlite-harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
// Each run gets a database of its own, already migrated (a copy of a template), as a deployed
// application's would be: the examples' own openBackend then only checks the migrations.
const sqlite = await sqliteHarness("readme");
const postgres = await pgHarness();
after(async () => {
  await sqlite.cleanup();
  await postgres.cleanup();
});

const EXAMPLES: [file: string, expected: RegExp, only?: "sqlite" | "postgresql"][] = [
  ["wait-for-result.ts", /math\.add -> 5/],
  ["poll-by-id.ts", /FAILURE true true\nRangeError: quarter out of range\nPENDING/],
  ["group.ts", /\[ 0, 10, 20 \]\n3/],
  ["cleanup-job.ts", /^cleanup deleted 0 rows in \d+ ms$/m],
  ["history.ts", /PENDING - \nSTARTED w1 \nRETRY w1 database busy\nSTARTED w2 \nSUCCESS w2 \n/],
  ["record-in-transaction.ts", /\{ total: 42 \}\n42 SUCCESS \{ total: 42 \} true/, "postgresql"],
  ["record-in-transaction-sqlite.ts", /\{ total: 42 \}\n42 SUCCESS \{ total: 42 \} true/, "sqlite"],
  ["run-task-sqlite.ts", /SUCCESS \{ total: 42 \}\ntrue PENDING/, "sqlite"],
  [
    "retention.ts",
    /name=billing\.\*=400d case 2026-118\nstate=FAILURE,name=billing\.\*=forever: 0; name=billing\.\*=400d: 0; queue=audit=forever: 0; default=30d: 0/,
  ],
  [
    "backend-api.ts",
    /SUCCESS \{ pages: 12 \} reports\.generate \[ 42 \]\n\[ 'SUCCESS', 'SUCCESS', 'PENDING' \]\nfalse\n\[ 'r-43', 'r-44' \]\n0 0/,
  ],
];

const compiledDir = new URL("../.compiled/examples/", import.meta.url);

/** The example as JavaScript importing the built package (`npm test` builds first). */
function compiled(file: string): string {
  const { code } = transformSync(readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
  });
  const javascript = code
    .replaceAll(/(["'])taskledger\/drizzle\1/g, "$1../../dist/drizzle.js$1")
    .replaceAll(/(["'])taskledger\1/g, "$1../../dist/index.js$1");
  mkdirSync(compiledDir, { recursive: true });
  const out = fileURLToPath(new URL(file.replace(/\.ts$/, ".mjs"), compiledDir));
  writeFileSync(out, javascript);
  return out;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// The examples start as soon as the suite does, RUNNING at a time, each test awaiting its own:
// one after another they spent ~10 s, mostly each process's start-up and its waits.
const RUNNING = 3;
let active = 0;
const turns: (() => void)[] = [];

async function run(script: string, url: () => Promise<string>): Promise<Run> {
  while (active >= RUNNING) await new Promise<void>((resolve) => turns.push(resolve));
  active++;
  try {
    const target = await url();
    return await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, TASKLEDGER_URL: target } });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  } finally {
    active--;
    turns.shift()?.();
  }
}

describe("README examples", async () => {
  const pg = await pgSkip();
  const runs = new Map<string, Promise<Run>>();
  before(() => {
    for (const [file, , only] of EXAMPLES) {
      const script = compiled(file);
      if (only !== "postgresql")
        runs.set(
          `${file} sqlite`,
          run(script, () => sqlite.migratedUrl("readme")),
        );
      if (!pg && only !== "sqlite")
        runs.set(
          `${file} postgresql`,
          run(script, () => postgres.migratedUrl("readme")),
        );
    }
    // Each is awaited by its test; one that fails before its test runs must not go unhandled.
    for (const running of runs.values()) running.catch(() => undefined);
  });
  const output = async (key: string) => {
    const result = await runs.get(key)!;
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  for (const [file, expected, only] of EXAMPLES) {
    it(`${file} is shown verbatim in the README`, () => {
      const source = readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8");
      assert.ok(readme.includes(source.trim()), `README.md does not contain examples/${file} verbatim`);
    });
    it(`${file} runs on SQLite`, { skip: only === "postgresql" && "a PostgreSQL example" }, async () => {
      assert.match(await output(`${file} sqlite`), expected);
    });
    it(`${file} runs on PostgreSQL`, { skip: pg || (only === "sqlite" && "a SQLite example") }, async () => {
      assert.match(await output(`${file} postgresql`), expected);
    });
  }
});
