/**
 * The committed migrations must match the models: drizzle-kit regenerates into a scratch copy and
 * must find nothing to do. drizzle-kit exits 0 even when it stops at an interactive prompt, so
 * the output is checked too, and the copy is compared file by file.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { tempDir } from "./helpers/sqlite.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = tempDir("migrations");
after(() => dir.remove());

function listFiles(folder: string, prefix = ""): string[] {
  return readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(folder, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`]))
    .sort();
}

describe("committed migrations match the models", () => {
  for (const [dialect, config] of [
    ["pg", "drizzle.config.ts"],
    ["sqlite", "drizzle.sqlite.config.ts"],
    ["mysql", "drizzle.mysql.config.ts"],
  ] as const) {
    it(`drizzle-kit finds no schema change for ${dialect}`, () => {
      const committed = join(root, "migrations", dialect);
      const scratch = join(dir.path, dialect);
      cpSync(committed, scratch, { recursive: true });
      const run = spawnSync(join(root, "node_modules", ".bin", "drizzle-kit"), ["generate", "--config", config], {
        cwd: root,
        // drizzle-kit prefixes "./" to the out folder, so it must be relative to the project.
        env: { ...process.env, TASKLEDGER_MIGRATIONS_OUT: relative(root, scratch) },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      const output = `${run.stdout}\n${run.stderr}`;
      assert.equal(run.status, 0, output);
      assert.doesNotMatch(output, /error/i, output);
      assert.match(output, /No schema changes/, output);
      assert.deepEqual(
        listFiles(scratch),
        listFiles(committed),
        "drizzle-kit wrote new migration files: run npm run db:generate and commit them",
      );
      for (const file of listFiles(committed)) {
        assert.equal(readFileSync(join(scratch, file), "utf8"), readFileSync(join(committed, file), "utf8"), `${file} differs`);
      }
    });
  }
});
