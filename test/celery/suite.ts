/**
 * Interop with real Python Celery (Debian's 5.2) on one database: each side reads every field
 * the other writes, each side's cleanup deletes what the other wrote once expired, and
 * taskledger adopts tables Celery created without breaking Celery. Run on PostgreSQL and SQLite.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AsyncResult, GroupResult, openBackend, RemoteError, TaskRevokedError, states, type DatabaseBackend } from "../../src/index.js";
import { celery } from "../helpers/celery.js";
import { cli } from "../helpers/cli.js";

export interface InteropTarget {
  dialect: "postgresql" | "sqlite" | "mysql";
  /** A fresh, empty database as Celery's result_backend URL (db+...), which taskledger also takes. */
  freshUrl(label: string): Promise<string>;
  /** Runs raw SQL to make a table the way Celery 4.3 did (no extended columns). */
  createCelery43Tables(url: string): Promise<void>;
  cleanup(): Promise<void>;
}

const DAY = 86_400_000;

export function celeryInteropSuite(target: InteropTarget, skip: string | false): void {
  describe(`Celery interop on ${target.dialect}`, { skip }, () => {
    const opened: DatabaseBackend[] = [];
    const open = async (url: string, options: Parameters<typeof openBackend>[0] & object = {}) => {
      const backend = await openBackend({ url, resultExtended: true, ...options });
      opened.push(backend);
      return backend;
    };
    after(async () => {
      await Promise.all(opened.map((b) => b.close()));
      await target.cleanup();
    });

    it("taskledger reads every field Celery writes, after adopting Celery's tables", async () => {
      const url = await target.freshUrl("celery_writes");
      const ids = await celery<Record<string, string>>(url, "write", "c");
      const check = await cli(["--url", url, "--json", "migrate", "--check"]);
      assert.equal(check.code, 1, check.stderr);
      const planned: string[] = JSON.parse(check.stdout).planned;
      assert.ok(
        planned.some((s) => /ADD COLUMN .children./.test(s)),
        planned.join("\n"),
      );
      assert.ok(
        // Celery's tables and columns are never made again, dropped or altered; taskledger's own
        // triggers may be replaced (DROP TRIGGER, then CREATE TRIGGER).
        planned.every(
          (s) => !/^CREATE TABLE .*celery_task(set)?meta["`]/.test(s) && !/\bDROP\s+(TABLE|COLUMN|SEQUENCE)\b|ALTER COLUMN/i.test(s),
        ),
        planned.join("\n"),
      );
      const b = await open(url);
      const meta = (kind: string) => b.getTaskMeta(ids[kind]!);

      const success = await meta("success");
      assert.equal(success.status, states.SUCCESS);
      assert.deepEqual(success.result, {
        n: 1,
        text: "é x",
        big: 2n ** 70n,
        f: 1.5,
        none: null,
        list: [1, 2],
        tuple: [1, "a"],
        nested: { a: [true, false] },
        bytes: Buffer.from([0, 255]),
        when: new Date("2026-01-02T03:04:05.678Z"),
      });
      assert.ok(success.dateDone && Math.abs(success.dateDone.getTime() - Date.now()) < 120_000, "date_done is naive UTC, read as UTC");
      assert.equal((await meta("none")).result, null);

      for (const [kind, type, args] of [
        ["value_error", "ValueError", ["boom"]],
        ["key_error", "KeyError", ["k"]],
        ["custom_error", "QuotaExceeded", ["over", 3]],
      ] as const) {
        const failure = await meta(kind);
        assert.equal(failure.status, states.FAILURE);
        assert.ok(failure.result instanceof RemoteError, kind);
        assert.equal(failure.result.excType, type);
        assert.deepEqual(failure.result.excMessage, args);
        assert.match(failure.traceback ?? "", new RegExp(`${type}: `));
      }
      const retry = await meta("retry");
      assert.equal(retry.status, states.RETRY);
      assert.equal((retry.result as RemoteError).excType, "RuntimeError");
      assert.equal(retry.traceback, "Traceback: retry\n");
      assert.equal(retry.dateDone, null);
      const revoked = await meta("revoked");
      assert.equal(revoked.status, states.REVOKED);
      assert.ok(revoked.result instanceof TaskRevokedError);
      const started = await meta("started");
      assert.deepEqual([started.status, started.result, started.dateDone], [states.STARTED, { pid: 1234, hostname: "celery@w1" }, null]);
      const extended = await meta("extended");
      assert.deepEqual(
        [extended.result, extended.name, extended.args, extended.kwargs, extended.worker, extended.retries, extended.queue],
        [5, "proj.tasks.add", [2, 3], { z: "é", flag: true }, "celery@worker_1", 2, "celery"],
      );
      assert.deepEqual((await b.restoreGroup(ids["group"]!))?.results, [ids["success"], ids["none"]]);

      // Celery keeps working on the adopted tables, and reads them as before.
      const again = await celery<Record<string, string>>(url, "write", "again");
      const read = await celery(url, "read", { success: again["success"], group: again["group"] });
      assert.equal(read.success.status, "SUCCESS");
      assert.deepEqual(read.group.ids, [again["success"], again["none"]]);
    });

    it("Celery reads every field taskledger writes in Celery-compatible mode", async () => {
      const url = await target.freshUrl("taskledger_writes");
      await celery(url, "create");
      const b = await open(url, { celeryCompatible: true });
      const request = {
        name: "proj.tasks.add",
        args: [2, 3],
        kwargs: { z: "é", flag: true, at: "x" },
        worker: "node@w1",
        retries: 2,
        queue: "celery",
      };
      await b.markAsDone(
        "t-success",
        {
          n: 1,
          text: "é x",
          big: 2n ** 70n,
          f: 1.5,
          none: null,
          list: [1, 2],
          nested: { a: [true, false] },
          bytes: Buffer.from([0, 255]),
          when: new Date("2026-01-02T03:04:05.678Z"),
        },
        { request },
      );
      await b.markAsDone("t-none", null);
      await b.markAsFailure("t-type", new TypeError("bad type"));
      await b.markAsFailure("t-range", new RangeError("out of range"));
      await b.markAsRetry("t-retry", new TypeError("again"));
      await b.markAsRevoked("t-revoked", "stopped");
      await b.markAsStarted("t-started", { pid: 99, hostname: "node@w1" });
      await b.saveGroup("t-group", ["t-success", "t-none"]);
      const read = await celery(url, "read", {
        success: "t-success",
        none: "t-none",
        type: "t-type",
        range: "t-range",
        retry: "t-retry",
        revoked: "t-revoked",
        started: "t-started",
        group: "t-group",
      });
      const expected = {
        n: 1,
        text: "é x",
        big: { bigint: String(2n ** 70n) },
        f: 1.5,
        none: null,
        list: [1, 2],
        nested: { a: [true, false] },
        bytes: { bytes: "AP8=" },
        when: { datetime: "2026-01-02T03:04:05.678000" },
      };
      assert.equal(read.success.status, "SUCCESS");
      assert.deepEqual(read.success.result, expected);
      assert.deepEqual(read.success.get, { value: expected });
      assert.deepEqual(
        [read.success.name, read.success.args, read.success.kwargs, read.success.worker, read.success.retries, read.success.queue],
        ["proj.tasks.add", [2, 3], { z: "é", flag: true, at: "x" }, "node@w1", 2, "celery"],
      );
      assert.ok(Math.abs(Date.parse(`${read.success.date_done.datetime}Z`) - Date.now()) < 120_000, "Celery reads date_done as naive UTC");
      assert.deepEqual(read.none.get, { value: null });
      assert.deepEqual(read.type.get, { raised: "TypeError", module: "builtins", args: ["bad type"] }, "a Python built-in keeps its type");
      assert.deepEqual(
        read.range.get,
        { raised: "RangeError", module: "celery.exceptions", args: ["out of range"] },
        "otherwise Celery's generic form",
      );
      assert.match(read.type.traceback, /TypeError: bad type\n\s+at /);
      assert.deepEqual([read.retry.status, read.retry.result.exception], ["RETRY", "TypeError"]);
      assert.deepEqual(read.revoked.get, { raised: "TaskRevokedError", module: "celery.exceptions", args: ["stopped"] });
      assert.deepEqual([read.started.status, read.started.result], ["STARTED", { pid: 99, hostname: "node@w1" }]);
      assert.deepEqual(read.group, { type: "GroupResult", ids: ["t-success", "t-none"] });
    });

    it("a group Celery saved after group(...).freeze() restores with every member, in order (#9 item 8)", async () => {
      const url = await target.freshUrl("frozen_groups");
      await celery(url, "create");
      const saved = await celery<Record<string, { id: string; members: (string | string[])[] }>>(url, "save_groups", "fz");
      const b = await open(url);
      const tree = (set: GroupResult): unknown[] => set.results.map((r) => (r instanceof GroupResult ? tree(r) : r.id));
      for (const [name, group] of Object.entries(saved)) {
        const restored = await GroupResult.restore(group.id, b);
        assert.ok(restored, name);
        assert.deepEqual(tree(restored), group.members, `${name}: members in order, a nested group kept as a group (#9 item 13)`);
        assert.deepEqual((await b.restoreGroup(group.id))?.results, group.members.flat(), name);
      }
    });

    it("Celery restores a nested group taskledger saved in Celery-compatible mode (#9 item 13)", async () => {
      const url = await target.freshUrl("nested_groups");
      await celery(url, "create");
      const b = await open(url, { celeryCompatible: true });
      await new GroupResult("tl-outer", [new GroupResult("tl-inner", ["tl-a", "tl-b"], b), "tl-c"], b).save();
      const read = await celery(url, "read", { group: "tl-outer" });
      assert.deepEqual(read.group, { type: "GroupResult", ids: [["tl-a", "tl-b"], "tl-c"] });
    });

    it("each side's cleanup deletes what the other wrote once expired, and nothing else", async () => {
      const url = await target.freshUrl("cleanup");
      await celery(url, "create");
      const b = await open(url, { celeryCompatible: true });
      const tlOld = Array.from({ length: 5 }, (_, i) => `tl-old-${i}`);
      const tlNew = Array.from({ length: 3 }, (_, i) => `tl-new-${i}`);
      await b.storeMany(
        tlOld.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
      await b.storeMany(tlNew.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })));
      const celeryOld = await celery<string[]>(url, "write_aged", { prefix: "cel-old", count: 4, days: 10 });
      const celeryNew = await celery<string[]>(url, "write_aged", { prefix: "cel-new", count: 2, days: 0 });
      const exists = async (ids: string[]) => (await Promise.all(ids.map((id) => b.exists(id)))).filter(Boolean).length;

      const run = await cli(["--url", url, "--json", "backend-cleanup", "--expires", "7d"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).tasks, 9);
      assert.deepEqual([await exists(tlOld), await exists(celeryOld), await exists(tlNew), await exists(celeryNew)], [0, 0, 3, 2]);

      await b.storeMany(
        tlOld.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
      await celery(url, "write_aged", { prefix: "cel-old", count: 4, days: 10 });
      await celery(url, "cleanup", 7 * 86_400);
      assert.deepEqual([await exists(tlOld), await exists(celeryOld), await exists(tlNew), await exists(celeryNew)], [0, 0, 3, 2]);
    });

    it("a waiter wakes on Celery's commit through the database, not the re-read (#11)", async () => {
      const url = await target.freshUrl("wake");
      await celery(url, "create");
      const b = await open(url);
      const task = "celery-wakes-node";
      // An hour's re-read interval: only the notify trigger (PostgreSQL) or data_version (SQLite) can end this wait in time.
      const waiting = new AsyncResult(task, b).get({ interval: "1h", timeout: "60s" });
      await celery(url, "done", task);
      assert.deepEqual(await waiting, { by: "celery" });
    });

    it("a real Celery worker's retry-then-success task shows STARTED, RETRY with its exception, STARTED, SUCCESS in history() (#11)", async () => {
      const url = await target.freshUrl("worker_retry");
      await celery(url, "create");
      assert.equal((await cli(["--url", url, "migrate"])).code, 0);
      const task = "celery-flaky-task";
      const run = await celery<{ value: { attempts: number }; attempts: number[] }>(url, "worker_retry", task);
      assert.deepEqual(run, { value: { attempts: 2 }, attempts: [0, 1] }, "Celery keeps working with the triggers installed");
      const b = await open(url);
      const all = await new AsyncResult(task, b).history();
      // Celery 5.2's client writes a PENDING row while it polls before the worker starts; kept as the first event.
      const events = all[0]?.status === "PENDING" ? all.slice(1) : all;
      assert.deepEqual(
        events.map((e) => e.status),
        ["STARTED", "RETRY", "STARTED", "SUCCESS"],
      );
      const retry = events[1]!;
      assert.ok(retry.error instanceof RemoteError, String(retry.error));
      assert.equal(retry.error.excType, "ValueError");
      assert.deepEqual(retry.error.excMessage, ["flaky on the first attempt"]);
      assert.match(retry.traceback ?? "", /Retry in 0s: ValueError\('flaky on the first attempt'\)/);
      for (let i = 1; i < all.length; i++) assert.ok(all[i]!.date >= all[i - 1]!.date, `event ${i} is out of order`);
      assert.deepEqual(
        events.map((e) => e.retries),
        [0, 0, 1, 1],
      );
      assert.ok(
        events.every((e) => e.worker !== null && e.worker.length > 0),
        "each attempt names its worker",
      );
      assert.deepEqual([events[0]!.error, events[3]!.error], [null, null]);
    });

    it("adopts tables Celery 4.3 made (no extended columns): only what is missing is added, and Celery still works", async () => {
      const url = await target.freshUrl("celery43");
      await target.createCelery43Tables(url);
      const migrate = await cli(["--url", url, "--json", "migrate"]);
      assert.equal(migrate.code, 0, migrate.stderr);
      const ran: string[] = JSON.parse(migrate.stdout).ran;
      for (const column of ["name", "args", "kwargs", "worker", "retries", "queue", "children", "parent_id", "group_id", "date_updated"]) {
        assert.ok(
          ran.some((s) => new RegExp(`ADD COLUMN .${column}. `).test(s)),
          `${column} not added:\n${ran.join("\n")}`,
        );
      }
      assert.ok(ran.some((s) => /ix_celery_taskmeta_date_done/.test(s)));
      assert.equal((await cli(["--url", url, "migrate", "--check"])).code, 0);
      const ids = await celery<Record<string, string>>(url, "write", "after");
      const read = await celery(url, "read", { extended: ids["extended"], group: ids["group"] });
      assert.equal(read.extended.name, "proj.tasks.add");
      const b = await open(url);
      assert.equal((await b.getTaskMeta(ids["extended"]!)).worker, "celery@worker_1");
    });
  });
}
