/**
 * Type-level tests: tsc compiles test/types/*.types.ts, whose expectType<Equal<...>>() lines and
 * @ts-expect-error markers fail the compile when a public type drifts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { it } from "node:test";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const project = fileURLToPath(new URL("./types/tsconfig.json", import.meta.url));

it("get() is typed T, or T | Error with propagate false, on AsyncResult, EagerResult and ResultLike", () => {
  const run = spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8" });
  assert.equal(run.status, 0, `tsc reported:\n${run.stdout}${run.stderr}`);
});
