#!/usr/bin/env node
// `npm run test:citus`: test/citus/*.test.ts, the shared backend suite (archive included), the CLI
// and web suites on the Citus harness, and the Citus checks, through a Citus coordinator. CI
// cannot install Citus, so without TASKLEDGER_TEST_CITUS_URL this prints one line and exits 0.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

if (!process.env.TASKLEDGER_TEST_CITUS_URL) {
  console.log(
    "test:citus skipped: TASKLEDGER_TEST_CITUS_URL is not set (a Citus coordinator with at least two workers; README, Scaling out)",
  );
  process.exit(0);
}
const run = (command, args) => spawnSync(command, args, { stdio: "inherit", shell: false }).status ?? 1;
const built = run("npm", ["run", "build"]);
if (built !== 0) process.exit(built);
const files = readdirSync("test/citus")
  .filter((name) => name.endsWith(".test.ts"))
  .sort()
  .map((name) => `test/citus/${name}`);
process.exit(run(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", "--test-concurrency=1", ...files]));
