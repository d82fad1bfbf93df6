/**
 * The published package stands alone: `npm pack`, install the tarball into a scratch
 * project with only @types/node and TypeScript beside it, type-check a consumer with
 * `strict: true, skipLibCheck: false` (drizzle-orm's declarations fail that, so the public
 * declarations must never reach them), then run it against a SQLite file.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, it } from "node:test";

const root = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);
const version = (name: string) =>
  (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as { version: string }).version;
const scratch = mkdtempSync(join(tmpdir(), "taskledger-pack-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_fund: "false" },
  });
}

it("a strict consumer without skipLibCheck compiles against the packed tarball and runs", { timeout: 300_000 }, () => {
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", scratch], root)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = join(scratch, packed[0]!.filename);
  assert.ok(
    packed[0]!.files.some((f) => f.path === "dist/index.d.ts"),
    "the tarball holds the declarations (run `npm run build` first)",
  );

  const project = join(scratch, "consumer");
  cpSync(fileURLToPath(new URL("./consumer.ts", import.meta.url)), join(project, "src", "consumer.ts"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        outDir: "out",
        rootDir: "src",
        types: ["node"],
      },
      include: ["src"],
    }),
  );
  // Offline from npm's cache where it can; install scripts off, so better-sqlite3's addon is the
  // one this checkout already built (the same pinned version).
  npm(
    [
      "install",
      "--ignore-scripts",
      "--prefer-offline",
      "--no-audit",
      tarball,
      `typescript@${version("typescript")}`,
      `@types/node@${version("@types/node")}`,
    ],
    project,
  );
  assert.equal(
    version("better-sqlite3"),
    JSON.parse(readFileSync(join(project, "node_modules/better-sqlite3/package.json"), "utf8")).version,
  );
  cpSync(join(root, "node_modules/better-sqlite3/build"), join(project, "node_modules/better-sqlite3/build"), { recursive: true });

  const tsc = spawnSync(process.execPath, [join(project, "node_modules/typescript/bin/tsc"), "-p", project], { encoding: "utf8" });
  assert.equal(tsc.status, 0, `the consumer does not compile against the published declarations:\n${tsc.stdout}${tsc.stderr}`);

  const run = spawnSync(process.execPath, [join(project, "out/consumer.js"), join(scratch, "consumer.db")], {
    encoding: "utf8",
    cwd: project,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { sum: 5, status: true, restored: 1, timedOut: true, dryRun: false });
});
