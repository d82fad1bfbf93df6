/** MySQL and MariaDB URLs: the five forms, masked display, and refusals that name the fault without the password. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDatabaseUrl } from "../../src/config.js";
import { ConfigError, InvalidUrlError } from "../../src/errors.js";
import { resolveTables } from "../../src/db/tables.js";

describe("MySQL URLs", () => {
  it("reads mysql://, mariadb:// and Celery's db+mysql forms as one target, password masked", () => {
    for (const [url, normal] of [
      ["mysql://app:hunter2@db:3306/results", "mysql://app:hunter2@db:3306/results"],
      ["mariadb://app:hunter2@db/results", "mysql://app:hunter2@db/results"],
      ["db+mysql://app:hunter2@db/results", "mysql://app:hunter2@db/results"],
      ["db+mysql+pymysql://app:hunter2@db/results?charset=utf8mb4", "mysql://app:hunter2@db/results?charset=utf8mb4"],
      ["db+mysql+mysqldb://app:hunter2@db/results", "mysql://app:hunter2@db/results"],
    ]) {
      const target = parseDatabaseUrl(url!);
      assert.equal(target.dialect, "mysql", url);
      assert.equal((target as { url: string }).url, normal);
      assert.doesNotMatch(target.display, /hunter2/);
      assert.match(target.display, /app:\*\*\*@db/);
    }
  });

  it("refuses a URL without a database, an unknown driver or an unknown parameter, never echoing the password", () => {
    for (const [bad, reason] of [
      ["mysql://app:hunter2@db", /names no database/],
      ["mysql://app:hunter2@db/", /names no database/],
      ["db+mysql+oursql://app:hunter2@db/x", /unsupported MySQL driver "oursql"/],
      ["mysql://app:hunter2@db/x?sslmode=require", /unsupported MySQL URL parameter "sslmode"/],
      ["mysql://app:hunter2@[bad/x", /malformed MySQL URL/],
    ] as const) {
      assert.throws(
        () => parseDatabaseUrl(bad),
        (e: unknown) => {
          assert.ok(e instanceof InvalidUrlError, `${bad}: ${e}`);
          assert.match(e.message, reason);
          assert.doesNotMatch(e.message, /hunter2/);
          return true;
        },
      );
    }
  });

  it("quotes identifiers with backticks on MySQL and validates them as on the other dialects", () => {
    const tables = resolveTables("mysql", { task: "jobs", group: "job_sets", taskSchema: "results", groupSchema: null });
    assert.equal(tables.task, "`results`.`jobs`");
    assert.equal(tables.group, "`job_sets`");
    assert.equal(tables.history, "`results`.`jobs_history`");
    assert.equal(tables.taskSequence, "`results`.`task_id_sequence`");
    assert.equal(resolveTables("postgresql", { task: "jobs" }).task, '"jobs"');
    assert.throws(() => resolveTables("mysql", { task: "x`; DROP TABLE y; --" }), ConfigError);
    // Migrations generated for Celery's names follow the configured ones, in the dialect's quotes.
    assert.equal(
      tables.rewriteMigration(
        "CREATE TABLE `celery_taskmeta_history` (`id` bigint); INSERT INTO `celery_taskmeta` VALUES (NEXTVAL(`task_id_sequence`))",
      ),
      "CREATE TABLE `results`.`jobs_history` (`id` bigint); INSERT INTO `results`.`jobs` VALUES (NEXTVAL(`results`.`task_id_sequence`))",
    );
    // A trigger is named in its table's database (MySQL refuses one created elsewhere).
    assert.equal(
      tables.rewriteMigration("CREATE TRIGGER `celery_taskmeta_tl_webhook_insert` AFTER INSERT ON `celery_taskmeta` FOR EACH ROW"),
      "CREATE TRIGGER `results`.`jobs_tl_webhook_insert` AFTER INSERT ON `results`.`jobs` FOR EACH ROW",
    );
  });
});
