import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cleanupOptionsFrom } from "../src/cli/commands/backend-cleanup.js";
import { parseSince, queryFrom } from "../src/cli/options.js";
import { progressLine, table } from "../src/cli/format.js";
import { ConfigError } from "../src/index.js";

describe("CLI formatting and option parsing", () => {
  it("the progress line shows percent, rows, rate and an estimate", () => {
    assert.equal(progressLine(5_000, 20_000, 2_000), "[######------------------]  25%  5,000/20,000 rows  2,500 rows/s  ETA 6.0 s");
    assert.match(progressLine(20_000, 20_000, 4_000), /100% {2}20,000\/20,000 rows {2}5,000 rows\/s$/);
  });

  it("tables align columns", () => {
    assert.equal(
      table(
        ["A", "LONGER"],
        [
          ["xx", 1],
          [null, "y"],
        ],
      ),
      "A   LONGER\n--  ------\nxx  1\n    y",
    );
  });

  it("--since takes durations ago or ISO dates (naive is UTC)", () => {
    const now = new Date("2026-11-21T12:00:00Z");
    assert.equal(parseSince("24h", "--since", now).toISOString(), "2026-11-20T12:00:00.000Z");
    assert.equal(parseSince("2026-11-17", "--since").toISOString(), "2026-11-17T00:00:00.000Z");
    assert.equal(parseSince("2026-11-17 08:30", "--since").toISOString(), "2026-11-17T08:30:00.000Z");
    assert.equal(parseSince("2026-11-17T08:30+02:00", "--since").toISOString(), "2026-11-17T06:30:00.000Z");
    assert.throws(() => parseSince("2026-13-45", "--since"), ConfigError);
    assert.deepEqual(queryFrom({ state: ["failure,retry", "STARTED"] }).states, ["FAILURE", "RETRY", "STARTED"]);
  });

  it("cleanup options: --keep STATE=DURATION, forever, criteria rules, --keep-failures, never", () => {
    const options = cleanupOptionsFrom({
      keep: ["revoked=30d", "RETRY=forever", "name=billing.*,queue=q=400d"],
      keepFailures: "90d",
      expires: "never",
      batchSize: "100",
      wait: true,
    });
    assert.deepEqual(options.rules, [
      { state: "FAILURE", keep: "90d" },
      { state: "REVOKED", keep: "30d" },
      { state: "RETRY", keep: "forever" },
      { name: "billing.*", queue: "q", keep: "400d" },
    ]);
    assert.equal(options.expires, null);
    assert.equal(options.batchSize, 100);
    assert.equal(options.lock, "wait");
    assert.throws(() => cleanupOptionsFrom({ keep: ["FAILURE:90d"] }), ConfigError);
    assert.throws(() => cleanupOptionsFrom({ batchSize: "0" }), ConfigError);
    for (const word of ["Never", "FOREVER", "none"]) assert.equal(cleanupOptionsFrom({ expires: word }).expires, null, word);
    assert.equal(cleanupOptionsFrom({ expires: "36h" }).expires, "36h", "a duration is passed on as written");
  });
});
