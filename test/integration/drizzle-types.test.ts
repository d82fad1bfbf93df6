/**
 * `taskledger/drizzle` type-checks in an application's strict TypeScript: tsc compiles the
 * README's drizzle and job-queue examples resolving "taskledger" and "taskledger/drizzle" by the package's own
 * name and exports map (dist/), as an application's compiler does. Slow (a full tsc run), so it
 * lives with the integration tests (npm run test:integration).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("taskledger/drizzle types", () => {
  it("its tables type-check in an application's strict TypeScript, through the package's exports", () => {
    // The examples use the rows' types (numbers, Dates, decoded values) under --strict.
    const run = spawnSync(
      join("node_modules", ".bin", "tsc"),
      [
        "--noEmit",
        "--strict",
        "--target",
        "es2022",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--skipLibCheck",
        "--types",
        "node",
        "examples/record-in-transaction.ts",
        "examples/record-in-transaction-sqlite.ts",
        "examples/bullmq.ts",
        "examples/pg-boss/app.ts",
        "examples/pg-boss/producer.ts",
        "examples/pg-boss/worker.ts",
        "examples/pg-boss/client.ts",
      ],
      { cwd: root, encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
  });
});
