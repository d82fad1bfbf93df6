import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import {
  AsyncResult,
  ConfigError,
  GroupResult,
  InvalidUrlError,
  maskUrl,
  openBackend,
  parseDatabaseUrl,
  parseDuration,
  TimeoutError,
} from "../src/index.js";
import { defaultDatabaseUrl, parsePointInTime, parseRetention, resolveOptions } from "../src/config.js";
import { readPolicyFile } from "../src/index.js";

describe("database URLs", () => {
  const cases: [string, unknown][] = [
    [":memory:", { dialect: "sqlite", file: ":memory:" }],
    ["sqlite::memory:", { dialect: "sqlite", file: ":memory:" }],
    ["sqlite:results.db", { dialect: "sqlite", file: resolve("results.db") }],
    ["sqlite:/var/lib/tl.db", { dialect: "sqlite", file: "/var/lib/tl.db" }],
    ["./data/tl.sqlite", { dialect: "sqlite", file: resolve("data/tl.sqlite") }],
    ["/abs/path.db", { dialect: "sqlite", file: "/abs/path.db" }],
    ["db+sqlite:///results.db", { dialect: "sqlite", file: resolve("results.db") }],
    ["db+sqlite:////tmp/celery.db", { dialect: "sqlite", file: "/tmp/celery.db" }],
    ["sqlite://", { dialect: "sqlite", file: ":memory:" }],
    ["postgres://u:p@db.example:5432/app", { dialect: "postgresql", url: "postgresql://u:p@db.example:5432/app" }],
    ["postgresql://u@localhost/app", { dialect: "postgresql", url: "postgresql://u@localhost/app" }],
    ["db+postgresql://u:p@localhost/app", { dialect: "postgresql", url: "postgresql://u:p@localhost/app" }],
    ["db+postgresql+psycopg2://u:p@localhost/app", { dialect: "postgresql", url: "postgresql://u:p@localhost/app" }],
  ];
  for (const [input, expected] of cases) {
    it(`reads ${input}`, () => {
      const { display: _display, ...target } = parseDatabaseUrl(input);
      assert.deepEqual(target, expected);
    });
  }

  it("the display form of a PostgreSQL URL masks its password", () => {
    assert.equal(parseDatabaseUrl("postgres://app:hunter2@db/x").display, "postgresql://app:***@db/x");
  });

  it("unsupported and malformed URLs are typed errors that mask the password", () => {
    for (const bad of [
      "mssql://root:hunter2@db/x",
      "redis://:hunter2@cache:6379/0",
      "postgres://user:hunter2@[bad/x",
      "db+",
      "sqlite:",
      "postgresql://user:hunter2@/nohost",
    ]) {
      assert.throws(
        () => parseDatabaseUrl(bad),
        (e: unknown) => {
          assert.ok(e instanceof InvalidUrlError, `${bad}: ${e}`);
          assert.ok(e instanceof ConfigError);
          assert.doesNotMatch(e.message, /hunter2/);
          return true;
        },
      );
    }
  });

  it("openBackend rejects a bad URL before touching anything", async () => {
    await assert.rejects(
      openBackend({ url: "mssql://root:hunter2@db/x" }),
      (e: unknown) => e instanceof InvalidUrlError && !e.message.includes("hunter2"),
    );
  });

  it("defaults to TASKLEDGER_URL, then ./taskledger.db", () => {
    assert.equal(defaultDatabaseUrl({ TASKLEDGER_URL: "postgres://x@h/db" }), "postgres://x@h/db");
    assert.equal(defaultDatabaseUrl({}), "./taskledger.db");
    assert.equal(defaultDatabaseUrl({ TASKLEDGER_URL: "  " }), "./taskledger.db");
  });

  it("maskUrl hides every password in a text", () => {
    assert.equal(
      maskUrl("failed on postgres://a:b@h/x and db+postgresql://c:d%40e@h2/y"),
      "failed on postgres://a:***@h/x and db+postgresql://c:***@h2/y",
    );
    assert.equal(maskUrl("postgres://a@h/x"), "postgres://a@h/x");
  });

  it("maskUrl masks the userinfo up to the last @, and password-like query parameters", () => {
    assert.equal(maskUrl("postgres://app:p@ss@db/x"), "postgres://app:***@db/x");
    assert.equal(maskUrl("postgres://app:se/cr?et@db/x"), "postgres://app:***@db/x");
    assert.equal(maskUrl("postgres://db/x?user=u&password=SECRET&sslmode=require"), "postgres://db/x?user=u&password=***&sslmode=require");
    assert.equal(maskUrl(`{"url":"postgresql://u@db/x?sslpassword=SECRET","n":1}`), `{"url":"postgresql://u@db/x?sslpassword=***","n":1}`);
    assert.equal(maskUrl("no SQLite database at /tmp/x.db?password=SECRET;"), "no SQLite database at /tmp/x.db?password=***;");
    assert.equal(parseDatabaseUrl("postgres://app:p@ss@db/x").display, "postgresql://app:***@db/x");
  });

  it("a libpq key/value string is refused with an InvalidUrlError that does not echo it", () => {
    for (const text of ["host=db password=SECRET", "dbname=x user=app password='SECRET x'", "  host=/tmp port=5432"]) {
      assert.throws(
        () => parseDatabaseUrl(text),
        (e: unknown) => {
          assert.ok(e instanceof InvalidUrlError);
          assert.match(e.message, /key\/value connection strings/);
          assert.doesNotMatch(e.message, /SECRET|host=db|host=\/tmp|dbname=x/);
          return true;
        },
      );
    }
    assert.equal(parseDatabaseUrl("./data/a=b.db").dialect, "sqlite", "a file name with = is still a path");
  });
});

describe("durations and options", () => {
  it("reads durations; bare numbers are milliseconds", () => {
    assert.equal(parseDuration(1500), 1500);
    assert.equal(parseDuration("1500"), 1500);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("15m"), 900_000);
    assert.equal(parseDuration("36h"), 129_600_000);
    assert.equal(parseDuration("1d"), 86_400_000);
    assert.equal(parseDuration("2w"), 1_209_600_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
  });

  it("string durations are taken wherever the API takes a duration: busy timeout, retry delays, cleanup pause, get and join", async () => {
    const resolved = resolveOptions({ url: ":memory:", busyTimeoutMs: "250ms", retry: { baseDelayMs: "1s", maxDelayMs: "1m" } });
    assert.equal(resolved.busyTimeoutMs, 250);
    assert.equal(resolved.retry.baseDelayMs, 1000);
    assert.equal(resolved.retry.maxDelayMs, 60_000);
    assert.throws(
      () => resolveOptions({ url: ":memory:", busyTimeoutMs: "soon" }),
      (e: unknown) => e instanceof ConfigError && e.option === "busyTimeoutMs",
    );
    assert.throws(
      () => resolveOptions({ url: ":memory:", retry: { maxDelayMs: "later" } }),
      (e: unknown) => e instanceof ConfigError && e.option === "retry.maxDelayMs",
    );
    const backend = await openBackend({ url: ":memory:", busyTimeoutMs: "1s", resultExpires: "1h" });
    try {
      await backend.markAsDone("old", 1, { now: new Date(Date.now() - 2 * 3_600_000) });
      const report = await backend.cleanup({ pauseMs: "1ms", batchSize: 1, maxRuntime: "1m", staleAfter: "30d", keep: { FAILURE: "90d" } });
      assert.equal(report.tasks, 1);
      await assert.rejects(backend.cleanup({ pauseMs: "soon" }), (e: unknown) => e instanceof ConfigError && e.option === "pauseMs");
      await assert.rejects(new AsyncResult("never", backend).get({ timeout: "20ms", interval: "5ms" }), TimeoutError);
      await assert.rejects(
        new GroupResult("g", [new AsyncResult("never", backend)], backend).join({ timeout: "0.02s", interval: "5ms" }),
        TimeoutError,
      );
    } finally {
      await backend.close();
    }
  });

  it("a bad duration names the option", () => {
    assert.throws(
      () => parseDuration("soon", "resultExpires"),
      (e: unknown) => e instanceof ConfigError && e.option === "resultExpires",
    );
    assert.throws(() => parseDuration(-1, "x"), ConfigError);
    assert.throws(() => parseDuration("", "x"), ConfigError);
  });

  it("resultExpires defaults to one day; null and 0 keep results forever", () => {
    assert.equal(resolveOptions({ url: ":memory:" }).resultExpiresMs, 86_400_000);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: "7d" }).resultExpiresMs, 604_800_000);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: null }).resultExpiresMs, null);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: 0 }).resultExpiresMs, null);
  });

  it("one retention parser: forever, never and none in any case, null and zero durations keep forever; a bad value names the option", () => {
    for (const word of ["forever", "never", "none", "Never", "FOREVER", " None ", null, 0, "0", "0s"])
      assert.equal(parseRetention(word, "x"), null, JSON.stringify(word));
    assert.equal(parseRetention("7d", "x"), 604_800_000);
    assert.equal(parseRetention(1500, "x"), 1500);
    assert.throws(
      () => parseRetention("forevr", "--expires"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.option === "--expires" &&
        e.message ===
          `--expires: cannot read duration "forevr"; use a duration such as 7d, 36h or 1h30m (a bare number is milliseconds), or forever, never, none to keep rows forever`,
    );
    assert.throws(() => parseRetention("", "x"), ConfigError);
    // The library reads the same words wherever it takes a retention.
    for (const word of ["forever", "Never", "NONE"])
      assert.equal(resolveOptions({ url: ":memory:", resultExpires: word }).resultExpiresMs, null);
  });

  it("a retention longer than 36500d (100 years) is a ConfigError naming the option and the longest accepted; 36500d itself is taken", () => {
    const DAY = 86_400_000;
    const tooLong = (option: string) => (e: unknown) =>
      e instanceof ConfigError &&
      e.option === option &&
      /is longer than the longest accepted, 36500d \(100 years\); use 36500d \(100 years\) or less; to keep rows longer, keep them forever/.test(
        e.message,
      );
    for (const value of ["99999999999999d", "1000000d", "36501d", "5215w", 36_501 * DAY, 1e300, Infinity])
      assert.throws(() => parseRetention(value, "--expires"), tooLong("--expires"), String(value));
    for (const value of ["1000000d", 36_501 * DAY])
      assert.throws(() => resolveOptions({ url: ":memory:", resultExpires: value }), tooLong("resultExpires"), String(value));
    assert.equal(parseRetention("36500d", "x"), 36_500 * DAY);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: 36_500 * DAY }).resultExpiresMs, 36_500 * DAY);
  });

  it("a point in time before year 1 (a duration ago or a date) is a ConfigError naming the option", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    for (const value of ["1000000d", "99999999999999d", "0000-12-31", "0001-01-01T00:00+01:00"])
      assert.throws(
        () => parsePointInTime(value, "--since", now),
        (e: unknown) => e instanceof ConfigError && e.option === "--since" && e.message.includes("reaches before 0001-01-01"),
        value,
      );
    assert.equal(parsePointInTime("0001-01-01", "--since", now).toISOString(), "0001-01-01T00:00:00.000Z");
  });

  it("a policy file's rules may name its customStates and the caller's; any other unknown state is refused with a did-you-mean", () => {
    const dir = mkdtempSync(join(tmpdir(), "tl-policy-states-"));
    try {
      const file = join(dir, "retention.json");
      writeFileSync(file, JSON.stringify({ customStates: ["progress"], rules: [{ state: ["PROGRESS", "AWAITING"], keep: "forever" }] }));
      assert.throws(
        () => readPolicyFile(file),
        (e: unknown) => e instanceof ConfigError && /rules\[0\].*"AWAITING" is not a task state\. States are /.test(e.message),
      );
      assert.deepEqual(readPolicyFile(file, ["AWAITING"]).customStates, ["PROGRESS"]);
      writeFileSync(file, JSON.stringify({ rules: [{ state: "FAILED", keep: "forever" }] }));
      assert.throws(
        () => readPolicyFile(file),
        (e: unknown) => e instanceof ConfigError && /"FAILED" is not a task state; did you mean FAILURE\?/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("invalid pool sizes and retry settings name the option", () => {
    assert.throws(
      () => resolveOptions({ url: ":memory:", poolSize: 0 }),
      (e: unknown) => e instanceof ConfigError && e.option === "poolSize",
    );
    assert.throws(
      () => resolveOptions({ url: ":memory:", retry: { maxRetries: -1 } }),
      (e: unknown) => e instanceof ConfigError && e.option === "retry.maxRetries",
    );
    assert.equal(resolveOptions({ url: ":memory:", retry: false }).retry.maxRetries, 0);
    assert.equal(resolveOptions({ url: ":memory:", retry: false }).retry.budgetMs, 0);
    assert.throws(
      () => resolveOptions({ url: ":memory:", retryBudget: "soon" }),
      (e: unknown) => e instanceof ConfigError && e.option === "retryBudget",
    );
  });

  it("the retry budget is a duration (default 15 s; a string or milliseconds; 0 for none), not a count of attempts", () => {
    assert.equal(resolveOptions({ url: ":memory:" }).retry.budgetMs, 15_000);
    assert.equal(resolveOptions({ url: ":memory:" }).retry.maxRetries, null);
    assert.equal(resolveOptions({ url: ":memory:", retryBudget: "30s" }).retry.budgetMs, 30_000);
    assert.equal(resolveOptions({ url: ":memory:", retryBudget: 2500 }).retry.budgetMs, 2500);
    assert.equal(resolveOptions({ url: ":memory:", retryBudget: 0 }).retry.budgetMs, 0);
  });

  it(":memory: opens a working, migrated backend", async () => {
    const backend = await openBackend(":memory:");
    try {
      await backend.markAsDone("t1", 1);
      assert.equal((await backend.getTaskMeta("t1")).result, 1);
    } finally {
      await backend.close();
    }
  });
});
