/**
 * The archive keeps the promises the hot table makes: precedence, one row per id and legal holds
 * hold whichever tier a row is in, under writers racing the mover, and archive DDL waiting for a
 * lock queues neither hot reads nor holds behind it.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { AsyncResult, states, type DatabaseBackend } from "../../src/index.js";
import { hasFact } from "../helpers/harness.js";
import type { SuiteContext } from "./suite.js";

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

export function archiveTiersSuite(ctx: SuiteContext): void {
  describe("archive tier: promises across tiers", () => {
    let b: DatabaseBackend;
    before(async () => {
      b = await ctx.open(await ctx.harness.migratedUrl("archive_tiers"), { resultExpires: null, resultExtended: true });
      await b.createArchive();
    });

    /** A fresh database with an archive, and a backend on it (resultExpires off). */
    async function withArchive(label: string, options: { resultExtended?: boolean } = {}) {
      const url = await ctx.harness.migratedUrl(label);
      const backend = await ctx.open(url, { resultExpires: null, ...options });
      await backend.createArchive();
      return { url, backend };
    }

    /** Ids stored finished `days` ago and moved into the archive. */
    async function archived(count: number, days = 10, status: string = states.SUCCESS): Promise<string[]> {
      const ids = Array.from({ length: count }, () => randomUUID());
      for (const id of ids) await b.markAsStarted(id, null, { now: ago(days), request: { name: "tiers.task", worker: "w1" } });
      await b.storeMany(
        ids.map((taskId) => ({ taskId, status, result: "first" })),
        { now: ago(days) },
      );
      const moved = await b.cleanup({ archiveAfter: "7d", lock: "wait" });
      assert.ok(moved.archived >= count, `moved ${moved.archived}`);
      return ids;
    }

    it("a late unready write never replaces an archived finished task, by any writing call", async () => {
      const [started, retried, batched, revoked, viaResult, pending] = await archived(6);
      assert.equal(await b.markAsStarted(started!), false);
      assert.equal(await b.markAsRetry(retried!, new Error("redelivered")), false);
      assert.equal(await b.storeMany([{ taskId: batched!, status: states.STARTED, result: null }]), 0);
      assert.equal(await b.markAsRevoked(revoked!, "too late", { onlyIfUnready: true }), false, "a revoke refuses a finished task");
      assert.equal(await new AsyncResult(viaResult!, b).revoke(), false);
      assert.equal(await b.storeResult(pending!, null, states.PENDING), false);
      for (const id of [started, retried, batched, revoked, viaResult, pending]) {
        const meta = await b.getTaskMeta(id!);
        assert.equal(meta.status, states.SUCCESS, id);
        assert.equal(meta.result, "first");
        assert.equal(await new AsyncResult(id!, b).get({ timeout: 1000 }), "first");
      }
      assert.equal(await b.audit.count({ idPrefix: started!.slice(0, 8) }), 1, "no new hot row");
    });

    it("an id stored again after it was archived is one row, the latest, in every read; archived again, still one", async () => {
      const [id, other] = await archived(2);
      // A ready state may replace a ready one (markAsDone's default): the new hot row supersedes the
      // archived one and keeps what the write does not say (name, worker).
      assert.equal(await b.markAsDone(id!, "second", { now: ago(9) }), true);
      await b.storeMany([{ taskId: other!, status: states.FAILURE, result: new Error("second") }], { now: ago(9) });
      const check = async (when: string) => {
        const meta = await b.getTaskMeta(id!);
        assert.equal(meta.result, "second", when);
        assert.equal(meta.name, "tiers.task", `${when}: the archived row's name carried over`);
        const many = await b.getManyTaskMeta([id!, other!]);
        assert.equal((many.get(id!) as { result: unknown }).result, "second", when);
        assert.equal((many.get(other!) as { status: string }).status, states.FAILURE, when);
        for (const task of [id!, other!]) {
          assert.equal(await b.audit.count({ idPrefix: task }), 1, `${when}: count`);
          assert.equal((await b.audit.list({ idPrefix: task })).length, 1, `${when}: list`);
          const exported: string[] = [];
          for await (const entry of b.audit.iterate({ idPrefix: task })) exported.push(entry.row.taskId);
          assert.deepEqual(exported, [task], `${when}: export`);
          assert.equal((await b.audit.stats({ idPrefix: task })).total, 1, `${when}: stats`);
        }
        assert.deepEqual(
          (await b.getTaskHistory(id!)).map((e) => e.status),
          [states.STARTED, states.SUCCESS, states.SUCCESS],
          `${when}: the history of both lives`,
        );
      };
      await check("stored again");
      assert.ok((await b.cleanup({ archiveAfter: "7d" })).archived >= 2);
      await check("archived again");
    });

    it("an id with two archived rows (another writer stored it again) stays guarded when one of them expires", async () => {
      const { url, backend: a } = await withArchive("archive_two_rows", { resultExtended: true });
      const id = randomUUID();
      await a.markAsDone(id, "first", { now: ago(20), request: { name: "short.lived" } });
      assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "30d" })).archived, 1);
      // Python Celery does not look in the archive: its row for the id lands in the hot table.
      await ctx.harness.execRaw(
        url,
        `INSERT INTO celery_taskmeta (id, task_id, status, result, date_done) VALUES (99999, '${id}', 'SUCCESS', NULL, '${ago(15)
          .toISOString()
          .replace("T", " ")
          .replace("Z", "")}')`,
      );
      assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "400d" })).archived, 1);
      // Ninety days on, the first row's month has expired; the second row is kept a year.
      const later = new Date(Date.now() + 90 * DAY);
      const expired = await a.cleanup({ expires: "400d", rules: [{ name: "short.*", keep: "30d" }], now: later });
      assert.equal(expired.archiveExpired, 1);
      assert.equal(await a.markAsStarted(id), false, "the archived row that is left still judges a late write");
      assert.equal((await a.getTaskMeta(id)).status, states.SUCCESS);
    });

    it(
      "a store whose hot row a concurrent move takes away is judged again by the archived row, and supersedes it",
      {
        skip:
          !ctx.harness.capabilities.concurrentWriters &&
          "no concurrent writers (capabilities.concurrentWriters): one writer cannot interleave a move with a store",
      },
      async () => {
        const { url, backend: a } = await withArchive("archive_move_race", { resultExtended: true });
        const [one, many] = [randomUUID(), randomUUID()];
        for (const id of [one, many]) await a.markAsDone(id, "first", { now: ago(10), request: { name: "raced.task", worker: "w1" } });
        // A move of both rows, held open: each store below reads its hot row, then waits on the move's lock.
        const mover = await ctx.harness.openArchiveMove(url, [one, many]);
        try {
          const single = a.markAsRevoked(one, "after the move");
          const batch = a.storeMany([{ taskId: many, status: states.FAILURE, result: new Error("after the move") }]);
          await ctx.harness.untilLockWaiters(url, 2);
          await mover.commit();
          assert.equal(await single, true);
          assert.equal(await batch, 1);
        } finally {
          await mover.end();
        }
        for (const [id, status] of [
          [one, states.REVOKED],
          [many, states.FAILURE],
        ] as const) {
          const meta = await a.getTaskMeta(id);
          assert.equal(meta.status, status);
          assert.equal(meta.name, "raced.task", "the archived row's name carried over");
          assert.equal(await a.audit.count({ idPrefix: id }), 1, "one row, not a hot row beside the archived one");
        }
      },
    );

    it("writers racing the mover never bring back an unready state, and every id stays one row", async () => {
      const url = await ctx.harness.migratedUrl("archive_race");
      const mover = await ctx.open(url, { resultExpires: null });
      const writer = await ctx.open(url, { resultExpires: null });
      await mover.createArchive();
      const ids = Array.from({ length: 600 }, () => randomUUID());
      await mover.storeMany(
        ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
        { now: ago(10) },
      );
      let moving = true;
      const moved = mover.cleanup({ archiveAfter: "7d", batchSize: 25, pauseMs: 2 }).finally(() => (moving = false));
      let rounds = 0;
      // Late writes by several callers at once, over and over while the mover runs. A short pause
      // between slices lets SQLite's one writer lock reach the mover too.
      while (moving || rounds === 0) {
        rounds++;
        for (let i = 0; i < ids.length; i += 50) {
          await Promise.all(
            ids.slice(i, i + 50).map((id, j) => ((i + j) % 2 === 0 ? writer.markAsRetry(id, new Error("late")) : writer.markAsStarted(id))),
          );
          await sleep(1);
        }
        await writer.storeMany(ids.slice(0, 100).map((taskId) => ({ taskId, status: states.STARTED, result: null })));
      }
      assert.equal((await moved).archived, ids.length);
      const metas = await writer.getManyTaskMeta(ids);
      const wrong = [...metas.entries()].filter(([, m]) => (m as { status: string }).status !== states.SUCCESS);
      assert.deepEqual(wrong.length, 0, `${wrong.length} ids read another state, e.g. ${JSON.stringify(wrong[0])}`);
      assert.equal(await writer.audit.count({}), ids.length, "each id counted once");
    });

    it("the dry run counts the moves the real run makes after its own expiry pass", async () => {
      const fresh = await ctx.open(await ctx.harness.migratedUrl("archive_dry"), { resultExpires: null });
      await fresh.createArchive();
      const store = (count: number, days: number) =>
        fresh.storeMany(
          Array.from({ length: count }, () => ({ taskId: randomUUID(), status: states.SUCCESS, result: 1 })),
          { now: ago(days) },
        );
      await store(40, 40);
      await store(10, 10);
      const held = randomUUID();
      await fresh.storeMany([{ taskId: held, status: states.SUCCESS, result: 1 }], { now: ago(40) });
      await fresh.hold(held);
      const options = { archiveAfter: "7d", expires: "30d" } as const;
      const dry = await fresh.cleanup({ ...options, dryRun: true });
      const real = await fresh.cleanup(options);
      assert.deepEqual([dry.tasks, dry.archived], [40, 11]);
      assert.deepEqual([real.tasks, real.archived], [dry.tasks, dry.archived]);
    });

    it(
      "archive DDL waiting behind a reader holds up neither hot reads nor holds, leaves the drop to the next run, and a hold placed meanwhile keeps its row",
      {
        skip:
          (!ctx.harness.capabilities.archivePartitions &&
            "no archive partitions (capabilities.archivePartitions): expiry deletes row batches, no DDL") ||
          (!hasFact(ctx.harness, "readersHoldDdl") &&
            "on Citus a partition's rows are in shards on the workers, so the reader this test holds open there is not one the coordinator's DDL can be measured against here"),
      },
      async () => {
        const { url, backend: a } = await withArchive("archive_ddl");
        const old = Array.from({ length: 5 }, () => randomUUID());
        await a.storeMany(
          old.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
          { now: ago(20) },
        );
        assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "30d" })).archived, 5);
        const later = { expires: "30d", now: new Date(Date.now() + 90 * DAY) } as const;
        // Done "then", so the expiry pass of the later cleanup leaves it in the hot table.
        const hot = randomUUID();
        await a.markAsDone(hot, "hot", { now: later.now });
        // A backup that has read the month about to be dropped (pg_dump reads each partition as a
        // table) and keeps its transaction open.
        // The one month the archived rows went to.
        const months = await ctx.harness.partitionsOf(url, "celery_taskmeta_archive");
        const filled = [];
        for (const name of months) if ((await ctx.harness.countRows(url, name)) > 0) filled.push(name);
        assert.equal(filled.length, 1, `rows in ${filled.join(", ")}`);
        const month = filled[0]!;
        const reader = await ctx.harness.holdReader(url, month);
        try {
          const cleanup = a.cleanup(later);
          await ctx.harness.untilLockWaiters(url, 1);
          // While the drop waits for its lock: a hot read answers, and a hold goes through.
          const read = await Promise.race([a.getTaskMeta(hot), sleep(3000).then(() => "timed out")]);
          assert.equal(typeof read === "string" ? read : read.result, "hot", "a hot read did not queue behind the archive's DDL");
          const holding = a.hold(old[0]!, { reason: "placed while the drop waited" });
          const report = await cleanup;
          assert.equal(await holding, 1);
          // Months nobody reads went; the one the backup holds stays, rows and all, for the next run.
          assert.equal(report.archiveExpired, 0);
          assert.equal((await a.getTaskMeta(old[1]!)).status, states.SUCCESS);
          // The partition by its own name: a table of its own on PostgreSQL, `PARTITION (p…)` of the archive on MySQL.
          const partition = /p\d{6}/.exec(month)![0];
          assert.ok(
            report.archiveDeferred.some((d) => d.startsWith("dropping ") && d.includes(partition)),
            JSON.stringify(report.archiveDeferred),
          );
          await reader.release();
          const next = await a.cleanup(later);
          // At least the held month; on MySQL the reader's metadata lock covers the whole table, so
          // empty months due beside it waited too.
          assert.ok(next.partitionsDropped >= 1, `dropped ${next.partitionsDropped}`);
          assert.deepEqual(next.archiveDeferred, []);
          assert.equal(next.archiveExpired, 4);
          assert.equal((await a.getTaskMeta(old[0]!)).status, states.SUCCESS, "the hold that returned success kept its row");
          assert.equal((await a.getTaskMeta(old[1]!)).exists, false);
        } finally {
          await reader.release();
        }
      },
    );

    it(
      "moves wait for the next run when a partition they need cannot be created behind a reader, and say so",
      { skip: !ctx.harness.capabilities.archivePartitions && "no archive partitions (capabilities.archivePartitions) to create" },
      async () => {
        const { url, backend: a } = await withArchive("archive_create_deferred");
        // A year on, the months a move files into do not exist yet.
        const later = new Date(Date.now() + 365 * DAY);
        const ids = Array.from({ length: 3 }, () => randomUUID());
        await a.storeMany(
          ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
          { now: new Date(later.getTime() - 10 * DAY) },
        );
        const reader = await ctx.harness.holdReader(url, "celery_taskmeta_archive");
        try {
          const report = await a.cleanup({ archiveAfter: "7d", expires: "30d", now: later });
          assert.equal(report.archived, 0);
          assert.ok(
            report.archiveDeferred.some((d) => /^creating celery_taskmeta_archive(_| partition )p\d{6}$/.test(d)),
            JSON.stringify(report.archiveDeferred),
          );
          assert.equal(new Set(report.archiveDeferred).size, report.archiveDeferred.length, "each reported once");
          await reader.release();
          const next = await a.cleanup({ archiveAfter: "7d", expires: "30d", now: later });
          assert.equal(next.archived, 3);
          assert.deepEqual(next.archiveDeferred, []);
        } finally {
          await reader.release();
        }
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
