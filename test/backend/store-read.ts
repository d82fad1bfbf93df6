import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import {
  CorruptValueError,
  EncodeError,
  InvalidIdError,
  RemoteError,
  registerErrorClass,
  states,
  TaskRevokedError,
} from "../../src/index.js";
import { spyDriver } from "../helpers/driver-spy.js";
import { runFixture } from "../helpers/spawn.js";
import type { SuiteContext } from "./suite.js";

const id = () => randomUUID();

export function storeReadSuite(ctx: SuiteContext): void {
  describe("store and read", () => {
    it("an unknown id reads as PENDING with no result, and exists() tells it from a stored PENDING", async () => {
      const b = ctx.backend();
      const unknown = id();
      const meta = await b.getTaskMeta(unknown);
      assert.equal(meta.status, states.PENDING);
      assert.equal(meta.result, null);
      assert.equal(meta.dateDone, null);
      assert.equal(meta.exists, false);
      assert.equal(await b.exists(unknown), false);
      const pending = id();
      await b.storeResult(pending, null, states.PENDING);
      assert.equal((await b.getTaskMeta(pending)).status, states.PENDING);
      assert.equal(await b.exists(pending), true);
    });

    it("markAsDone stores SUCCESS with the value and a date_done near now", async () => {
      const b = ctx.backend();
      const task = id();
      const before = Date.now();
      assert.equal(await b.markAsDone(task, { n: 42, list: [1, "two", null], nested: { ok: true } }), true);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.SUCCESS);
      assert.deepEqual(meta.result, { n: 42, list: [1, "two", null], nested: { ok: true } });
      assert.ok(meta.dateDone && meta.dateDone.getTime() >= before - 5 && meta.dateDone.getTime() <= Date.now() + 5);
      assert.equal(meta.traceback, null);
    });

    it("a null result is stored as SQL NULL and reads back as null", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsDone(task, null);
      assert.equal((await b.getTaskMeta(task)).result, null);
    });

    it("dates, byte arrays and big integers round-trip", async () => {
      const b = ctx.backend();
      const task = id();
      const value = {
        at: new Date("2026-01-02T03:04:05.678Z"),
        bytes: new Uint8Array([0, 255, 10, 13]),
        big: 2n ** 70n,
        small: -12n,
        safe: 9007199254740991,
      };
      await b.markAsDone(task, value);
      const result = (await b.getTaskMeta(task)).result as typeof value;
      assert.ok(result.at instanceof Date);
      assert.equal(result.at.toISOString(), "2026-01-02T03:04:05.678Z");
      assert.deepEqual([...result.bytes], [0, 255, 10, 13]);
      assert.equal(result.big, 2n ** 70n);
      assert.equal(result.small, -12);
      assert.equal(result.safe, 9007199254740991);
    });

    it("a value that cannot be encoded is a typed error naming its path, and nothing is written", async () => {
      const b = ctx.backend();
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic["self"] = cyclic;
      const task = id();
      await assert.rejects(
        b.markAsDone(task, cyclic),
        (e: unknown) => e instanceof EncodeError && e.path === "$.self" && /cycle/.test(e.message),
      );
      await assert.rejects(
        b.markAsDone(task, { rows: [{ f: () => 1 }] }),
        (e: unknown) => e instanceof EncodeError && e.path === "$.rows[0].f",
      );
      await assert.rejects(b.markAsDone(task, { m: new Map() }), EncodeError);
      await assert.rejects(b.markAsDone(task, { n: Number.NaN }), EncodeError);
      await assert.rejects(
        b.markAsDone(task, 1, { request: { args: [Symbol("x")] } }),
        (e: unknown) => e instanceof EncodeError && e.path === "$[0]",
      );
      assert.equal(await b.exists(task), false);
    });

    it("a value nested deeper than 1,000 levels is an EncodeError naming its path, never a RangeError, in both formats", async () => {
      const celery = await ctx.open(ctx.url(), { celeryCompatible: true, resultExtended: true });
      let deep: unknown = 1;
      for (let i = 0; i < 100_000; i++) deep = [deep];
      let deepObject: unknown = 1;
      for (let i = 0; i < 100_000; i++) deepObject = { k: deepObject };
      for (const b of [ctx.backend(), celery]) {
        const task = id();
        await assert.rejects(
          b.markAsDone(task, deep),
          (e: unknown) => e instanceof EncodeError && /^\$(\[0\]){1000}$/.test(e.path) && /1000 levels/.test(e.message),
        );
        await assert.rejects(b.markAsDone(task, deepObject), (e: unknown) => e instanceof EncodeError && e.path.startsWith("$.k.k.k"));
        await assert.rejects(b.markAsDone(task, 1, { request: { args: [deep] } }), EncodeError);
        assert.equal(await b.exists(task), false);
      }
      let fits: unknown = "bottom";
      for (let i = 0; i < 999; i++) fits = [fits];
      const task = id();
      await ctx.backend().markAsDone(task, fits);
      let read = (await ctx.backend().getTaskMeta(task)).result;
      for (let i = 0; i < 999; i++) read = (read as unknown[])[0];
      assert.equal(read, "bottom");
    });

    it("a __proto__ key round-trips as data instead of vanishing, in both formats", async () => {
      const celery = await ctx.open(ctx.url(), { celeryCompatible: true, resultExtended: true });
      const value = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1, "nested": {"__proto__": [1, 2]}}') as Record<string, unknown>;
      const withDate = JSON.parse('{"__proto__": "text"}') as Record<string, unknown>;
      withDate["at"] = new Date("2026-01-02T03:04:05Z"); // a kombu marker: the reviving reader runs
      for (const b of [ctx.backend(), celery]) {
        const task = id();
        await b.markAsDone(task, value, { request: { kwargs: withDate } });
        const meta = await b.getTaskMeta(task);
        const result = meta.result as Record<string, unknown>;
        assert.deepEqual(Object.keys(result), ["__proto__", "plain", "nested"]);
        assert.deepEqual(Object.getOwnPropertyDescriptor(result, "__proto__")?.value, { polluted: true });
        assert.equal(Object.getPrototypeOf(result), Object.prototype);
        assert.deepEqual(Object.getOwnPropertyDescriptor(result["nested"], "__proto__")?.value, [1, 2]);
        assert.equal(Object.getOwnPropertyDescriptor(meta.kwargs, "__proto__")?.value, "text");
        assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
      }
    });

    it("empty and over-long ids are typed errors", async () => {
      const b = ctx.backend();
      await assert.rejects(b.markAsDone("", 1), InvalidIdError);
      await assert.rejects(b.getTaskMeta("x".repeat(156)), InvalidIdError);
      await assert.rejects(b.saveGroup("g".repeat(156), []), InvalidIdError);
      const longest = "y".repeat(155);
      await b.markAsDone(longest, 1);
      assert.equal((await b.getTaskMeta(longest)).result, 1);
      await b.forget(longest);
    });

    it("ids that are not well-formed Unicode or hold NUL are refused with InvalidIdError before anything is written", async () => {
      const b = ctx.backend();
      const before = await b.audit.count({});
      // On PostgreSQL both lone surrogates became U+FFFD, so these two tasks shared one row.
      for (const bad of ["x\uD800", "x\uDC00", "a\uDC00\uD800b", "nul\u0000id"]) {
        await assert.rejects(b.markAsDone(bad, 1), InvalidIdError, JSON.stringify(bad));
        await assert.rejects(b.storeMany([{ taskId: bad, status: states.SUCCESS, result: 1 }]), InvalidIdError);
        await assert.rejects(b.getTaskMeta(bad), InvalidIdError);
        await assert.rejects(b.saveGroup(bad, []), InvalidIdError);
        await assert.rejects(b.saveGroup(id(), [bad]), InvalidIdError);
        await assert.rejects(b.markAsDone(id(), 1, { request: { groupId: bad } }), InvalidIdError);
      }
      assert.equal(await b.audit.count({}), before, "a refused id wrote a row");
    });

    it("the 155-character limit counts characters, as the column does: 155 emoji fit, 156 do not", async () => {
      const b = ctx.backend();
      const emoji = "\u{1F600}".repeat(155);
      assert.equal(emoji.length, 310);
      await b.markAsDone(emoji, "wide");
      assert.equal((await b.getTaskMeta(emoji)).result, "wide");
      await b.saveGroup(emoji, [emoji]);
      assert.deepEqual((await b.restoreGroup(emoji))!.results, [emoji]);
      await assert.rejects(b.markAsDone(`${emoji}\u{1F600}`, 1), /157|156 characters/);
      await b.forget(emoji);
      await b.deleteGroup(emoji);
    });

    it("with resultExtended, the request is stored in the extended columns and decoded", async () => {
      const b = ctx.backend();
      const task = id();
      const parent = id();
      const request = {
        name: "reports.generate",
        args: [2, "x", { d: new Date(0) }],
        kwargs: { z: "é", flag: true },
        worker: "celery@worker_1",
        retries: 2,
        queue: "celery",
        parentId: parent,
        groupId: "g-1",
        children: ["c1", "c2"],
      };
      await b.markAsDone(task, "ok", { request });
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.name, "reports.generate");
      assert.deepEqual(meta.args, [2, "x", { d: new Date(0) }]);
      assert.deepEqual(meta.kwargs, { z: "é", flag: true });
      assert.equal(meta.worker, "celery@worker_1");
      assert.equal(meta.retries, 2);
      assert.equal(meta.queue, "celery");
      assert.equal(meta.parentId, parent);
      assert.equal(meta.groupId, "g-1");
      assert.deepEqual(meta.children, ["c1", "c2"]);
    });

    it("a later store without a request keeps the request fields an earlier store wrote", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsStarted(task, { pid: 1 }, { request: { name: "t.add", args: [1, 2], worker: "w1", parentId: "p1" } });
      await b.markAsDone(task, 3);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.name, "t.add");
      assert.deepEqual(meta.args, [1, 2]);
      assert.equal(meta.parentId, "p1");
      assert.equal(meta.result, 3);
    });

    it("without resultExtended, Celery's extended columns stay empty but lineage is kept", async () => {
      const plain = await ctx.open(ctx.url(), { migrate: false });
      const task = id();
      await plain.markAsDone(task, 1, { request: { name: "t.add", args: [1], worker: "w", parentId: "p", children: ["c"] } });
      const meta = await plain.getTaskMeta(task);
      assert.equal(meta.name, null);
      assert.equal(meta.args, null);
      assert.equal(meta.worker, null);
      assert.equal(meta.parentId, "p");
      assert.deepEqual(meta.children, ["c"]);
    });

    it("markAsFailure stores type, module, message and traceback; reading rebuilds the built-in class", async () => {
      const b = ctx.backend();
      const task = id();
      const error = new TypeError("bad input");
      await b.markAsFailure(task, error);
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.FAILURE);
      assert.ok(meta.result instanceof TypeError);
      assert.equal(meta.result.message, "bad input");
      assert.equal((meta.result as unknown as { excType: string }).excType, "TypeError");
      assert.equal((meta.result as unknown as { excModule: string }).excModule, "builtins");
      assert.equal(meta.traceback, error.stack);
      assert.ok(meta.dateDone);
    });

    it("an unregistered error type becomes a RemoteError; a registered one is rebuilt as its class", async () => {
      const b = ctx.backend();
      class QuotaExceeded extends Error {
        override name = "QuotaExceeded";
      }
      const task = id();
      await b.markAsFailure(task, new QuotaExceeded("over quota"));
      let result = (await b.getTaskMeta(task)).result;
      assert.ok(result instanceof RemoteError);
      assert.equal(result.excType, "QuotaExceeded");
      assert.equal(result.message, "over quota");
      registerErrorClass(QuotaExceeded);
      result = (await b.getTaskMeta(task)).result;
      assert.ok(result instanceof QuotaExceeded);
      assert.equal(result.message, "over quota");
    });

    it("a stored exception naming a non-allowlisted global is never evaluated", async () => {
      const b = ctx.backend();
      const task = id();
      await b.storeResult(task, { exc_type: "Function", exc_message: ["return process.exit(3)"], exc_module: "builtins" }, states.FAILURE);
      const result = (await b.getTaskMeta(task)).result;
      assert.ok(result instanceof RemoteError);
      assert.equal(result.excType, "Function");
    });

    it("markAsRetry and markAsRevoked store their states and errors", async () => {
      const b = ctx.backend();
      const retried = id();
      await b.markAsRetry(retried, new RangeError("try again"), { traceback: "Traceback: line 1" });
      const retry = await b.getTaskMeta(retried);
      assert.equal(retry.status, states.RETRY);
      assert.ok(retry.result instanceof RangeError);
      assert.equal(retry.traceback, "Traceback: line 1");
      assert.equal(retry.dateDone, null);
      const revoked = id();
      await b.markAsRevoked(revoked, "user asked");
      const meta = await b.getTaskMeta(revoked);
      assert.equal(meta.status, states.REVOKED);
      assert.ok(meta.result instanceof TaskRevokedError);
      assert.equal(meta.result.message, "user asked");
      assert.ok(meta.dateDone);
    });

    it("markAsStarted stores STARTED with its meta and no date_done", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsStarted(task, { pid: 1234, hostname: "w1" });
      const meta = await b.getTaskMeta(task);
      assert.equal(meta.status, states.STARTED);
      assert.deepEqual(meta.result, { pid: 1234, hostname: "w1" });
      assert.equal(meta.dateDone, null);
      assert.ok(meta.dateUpdated);
    });

    it("getManyTaskMeta reads every id in one driver call, unknown ids as PENDING", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false, resultExtended: true }, spy.over);
      const ids = Array.from({ length: 50 }, id);
      await b.storeMany(ids.slice(0, 40).map((taskId, i) => ({ taskId, status: states.SUCCESS, result: i })));
      const calls = spy.count(["taskGetMany", "taskGet"]);
      const metas = await b.getManyTaskMeta(ids);
      assert.deepEqual(calls(), { taskGetMany: 1, taskGet: 0 });
      assert.deepEqual([...metas.keys()], ids);
      ids.forEach((taskId, i) => {
        const meta = metas.get(taskId)!;
        assert.ok(!(meta instanceof Error));
        assert.equal(meta.status, i < 40 ? states.SUCCESS : states.PENDING);
        assert.equal(meta.result, i < 40 ? i : null);
      });
    });

    it("a stored value that cannot be decoded is a typed error for that task, not for the batch", async () => {
      const b = ctx.backend();
      const good = id();
      const bad = id();
      const pickled = id();
      await b.markAsDone(good, 1);
      await b.markAsDone(bad, 2);
      await b.markAsDone(pickled, 3);
      await ctx.harness.setRaw(ctx.url(), bad, "result", Buffer.from("{not json", "utf8"));
      await ctx.harness.setRaw(ctx.url(), pickled, "result", Buffer.from([0x80, 0x05, 0x95, 0x10])); // a truncated pickle
      await assert.rejects(b.getTaskMeta(bad), (e: unknown) => e instanceof CorruptValueError && e.taskId === bad && e.column === "result");
      await assert.rejects(b.getTaskMeta(pickled), (e: unknown) => e instanceof CorruptValueError && /pickle/.test(e.message));
      const celeryInt = id();
      await b.markAsDone(celeryInt, 0);
      await ctx.harness.setRaw(ctx.url(), celeryInt, "result", Buffer.from([0x80, 0x05, 0x4b, 0x05, 0x2e])); // Celery's pickle of 5
      assert.equal((await b.getTaskMeta(celeryInt)).result, 5);
      const metas = await b.getManyTaskMeta([good, bad, pickled]);
      assert.equal((metas.get(good) as { result: unknown }).result, 1);
      assert.ok(metas.get(bad) instanceof CorruptValueError);
      assert.ok(metas.get(pickled) instanceof CorruptValueError);
    });

    it("forget deletes the row so the id reads as unknown again", async () => {
      const b = ctx.backend();
      const task = id();
      await b.markAsDone(task, 1);
      await b.markAsDone(task, 2);
      assert.equal(await b.forget(task), 1);
      assert.equal(await b.exists(task), false);
      assert.equal((await b.getTaskMeta(task)).result, null);
      assert.equal(await b.forget([task, id()]), 0);
    });

    it("storeMany writes 10,000 results in one call and folds duplicates by precedence", async () => {
      const spy = spyDriver();
      const b = await ctx.openOver(ctx.url(), { migrate: false, resultExtended: true }, spy.over);
      const ids = Array.from({ length: 10_000 }, id);
      const calls = spy.count(["taskStoreMany", "taskStore"]);
      const written = await b.storeMany(
        ids.map((taskId, i) => ({ taskId, status: states.SUCCESS, result: { i }, request: { name: "bulk", args: [i] } })),
      );
      assert.equal(written, 10_000);
      assert.deepEqual(calls(), { taskStoreMany: 1, taskStore: 0 });
      const sample = await b.getTaskMeta(ids[9_999]!);
      assert.deepEqual(sample.result, { i: 9_999 });
      assert.equal(sample.name, "bulk");
      const dup = id();
      await b.storeMany([
        { taskId: dup, status: states.STARTED },
        { taskId: dup, status: states.SUCCESS, result: "done" },
        { taskId: dup, status: states.RETRY },
      ]);
      const meta = await b.getTaskMeta(dup);
      assert.equal(meta.status, states.SUCCESS);
      assert.equal(meta.result, "done");
      // A batch without request metadata keeps what earlier stores wrote to those columns.
      const started = id();
      await b.markAsStarted(started, null, { request: { name: "kept.name", args: [1], parentId: "kept-parent" } });
      await b.storeMany([
        { taskId: started, status: states.SUCCESS, result: 2 },
        { taskId: id(), status: states.SUCCESS, result: 3 },
      ]);
      const kept = await b.getTaskMeta(started);
      assert.deepEqual(
        [kept.status, kept.result, kept.name, kept.args, kept.parentId],
        [states.SUCCESS, 2, "kept.name", [1], "kept-parent"],
      );
    });

    it("date_done is naive UTC in the column and reads the same whatever the process's TZ", async () => {
      const task = id();
      const iso = "2026-03-08T06:30:00.250Z"; // around a US DST switch
      const child = await runFixture("tz-roundtrip.ts", [ctx.url(), task, iso], { TZ: "America/New_York" });
      assert.equal(child.code, 0, child.stderr);
      const fromChild = JSON.parse(child.stdout);
      assert.equal(fromChild.tz, "America/New_York");
      assert.notEqual(fromChild.offset, 0);
      assert.equal(fromChild.dateDone, iso);
      assert.equal(fromChild.at, iso);
      const here = await ctx.backend().getTaskMeta(task);
      assert.equal(here.dateDone?.toISOString(), iso);
      assert.match(await ctx.harness.readDateDoneText(ctx.url(), task), /^2026-03-08 06:30:00\.25/);
    });
  });
}
