import assert from "node:assert/strict";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, InvalidUrlError, maskUrl, openBackend, parseDatabaseUrl, parseDuration } from "../src/index.js";
import { defaultDatabaseUrl, resolveOptions } from "../src/config.js";

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
    for (const bad of ["mysql://root:hunter2@db/x", "redis://:hunter2@cache:6379/0", "postgres://user:hunter2@[bad/x", "db+", "sqlite:", "postgresql://user:hunter2@/nohost"]) {
      assert.throws(() => parseDatabaseUrl(bad), (e: unknown) => {
        assert.ok(e instanceof InvalidUrlError, `${bad}: ${e}`);
        assert.ok(e instanceof ConfigError);
        assert.doesNotMatch(e.message, /hunter2/);
        return true;
      });
    }
  });

  it("openBackend rejects a bad URL before touching anything", async () => {
    await assert.rejects(openBackend({ url: "mysql://root:hunter2@db/x" }), (e: unknown) => e instanceof InvalidUrlError && !e.message.includes("hunter2"));
  });

  it("defaults to TASKLEDGER_URL, then ./taskledger.db", () => {
    assert.equal(defaultDatabaseUrl({ TASKLEDGER_URL: "postgres://x@h/db" }), "postgres://x@h/db");
    assert.equal(defaultDatabaseUrl({}), "./taskledger.db");
    assert.equal(defaultDatabaseUrl({ TASKLEDGER_URL: "  " }), "./taskledger.db");
  });

  it("maskUrl hides every password in a text", () => {
    assert.equal(maskUrl("failed on postgres://a:b@h/x and db+postgresql://c:d%40e@h2/y"), "failed on postgres://a:***@h/x and db+postgresql://c:***@h2/y");
    assert.equal(maskUrl("postgres://a@h/x"), "postgres://a@h/x");
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

  it("a bad duration names the option", () => {
    assert.throws(() => parseDuration("soon", "resultExpires"), (e: unknown) => e instanceof ConfigError && e.option === "resultExpires");
    assert.throws(() => parseDuration(-1, "x"), ConfigError);
    assert.throws(() => parseDuration("", "x"), ConfigError);
  });

  it("resultExpires defaults to one day; null and 0 keep results forever", () => {
    assert.equal(resolveOptions({ url: ":memory:" }).resultExpiresMs, 86_400_000);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: "7d" }).resultExpiresMs, 604_800_000);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: null }).resultExpiresMs, null);
    assert.equal(resolveOptions({ url: ":memory:", resultExpires: 0 }).resultExpiresMs, null);
  });

  it("invalid pool sizes and retry settings name the option", () => {
    assert.throws(() => resolveOptions({ url: ":memory:", poolSize: 0 }), (e: unknown) => e instanceof ConfigError && e.option === "poolSize");
    assert.throws(() => resolveOptions({ url: ":memory:", retry: { maxRetries: -1 } }), (e: unknown) => e instanceof ConfigError && e.option === "retry.maxRetries");
    assert.equal(resolveOptions({ url: ":memory:", retry: false }).retry.maxRetries, 0);
    assert.equal(resolveOptions({ url: ":memory:", retry: false }).retry.budgetMs, 0);
    assert.throws(() => resolveOptions({ url: ":memory:", retryBudget: "soon" }), (e: unknown) => e instanceof ConfigError && e.option === "retryBudget");
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
