import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { before, describe, it } from "node:test";
import { ConfigError, states, type DatabaseBackend, type TaskState } from "../../src/index.js";
import { compiledFixture } from "../helpers/spawn.js";
import type { SuiteContext } from "./suite.js";
import { queryDatabase } from "../helpers/pg.js";

const DAY = 86_400_000;

/** The archive tier. */
export function archiveSuite(ctx: SuiteContext): void {
  describe("archive tier", () => {
    let b: DatabaseBackend;
    let url: string;
    before(async () => {
      url = await ctx.harness.freshUrl("archive");
      b = await ctx.open(url, { resultExpires: null, resultExtended: true });
    });

    async function store(
      count: number,
      ageDays: number,
      request: { name?: string } = {},
      status: TaskState = states.SUCCESS,
    ): Promise<string[]> {
      const ids = Array.from({ length: count }, () => randomUUID());
      await b.storeMany(
        ids.map((taskId) => ({ taskId, status, result: { n: taskId.length }, request })),
        { now: new Date(Date.now() - ageDays * DAY) },
      );
      return ids;
    }

    it("archiving needs the archive, which only createArchive (migrate --archive) makes", async () => {
      assert.equal(await b.hasArchive(), false);
      await assert.rejects(
        b.cleanup({ archiveAfter: "7d" }),
        (e: unknown) => e instanceof ConfigError && /migrate --archive/.test(e.message),
      );
      await b.createArchive();
      await b.createArchive();
      assert.equal(await b.hasArchive(), true);
    });

    it("moves finished rows past the age in batches; every read sees both tiers", async () => {
      const old = await store(45, 10, { name: "etl.load" });
      const oldFailure = await store(5, 10, { name: "etl.load" }, states.FAILURE);
      const young = await store(7, 1);
      const started = await store(3, 30, {}, states.STARTED);
      const total = await b.audit.count({});
      const dry = await b.cleanup({ archiveAfter: "7d", dryRun: true });
      assert.equal(dry.archived, 50);
      const report = await b.cleanup({ archiveAfter: "7d", batchSize: 20, rules: [{ name: "etl.*", keep: "400d" }] });
      assert.equal(report.archived, 50);
      assert.equal(report.tasks, 0);
      assert.equal((await b.cleanup({ archiveAfter: "7d" })).archived, 0, "nothing left to move");
      const meta = await b.getTaskMeta(old[0]!);
      assert.equal(meta.status, states.SUCCESS);
      assert.deepEqual(meta.result, { n: 36 });
      assert.equal(meta.name, "etl.load");
      assert.equal((await b.getTaskMeta(oldFailure[0]!)).status, states.FAILURE);
      assert.equal(await b.exists(old[1]!), true);
      assert.equal((await b.getTaskMeta(randomUUID())).exists, false);
      const many = await b.getManyTaskMeta([...old, ...young, ...started]);
      assert.ok([...many.values()].every((m) => !(m instanceof Error) && m.exists));
      assert.equal(await b.audit.count({}), total, "count sees both tiers, each row once");
      assert.equal(await b.audit.count({ states: [states.FAILURE] }), 5);
      const listed = await b.audit.list({ names: ["etl.load"] }, { limit: 100 });
      assert.equal(listed.length, 50);
      const exported: string[] = [];
      for await (const entry of b.audit.iterate({}, { pageSize: 7 })) exported.push(entry.row.taskId);
      assert.equal(new Set(exported).size, total);
      assert.equal((await b.audit.stats({})).total, total);
      const [explained] = await b.explainRetention([old[2]!], { rules: [{ name: "etl.*", keep: "400d" }] });
      assert.equal(explained!.rule, "name=etl.*=400d");
      assert.equal(await b.forget([old[3]!, young[0]!]), 2, "forget reaches archived rows");
      assert.equal(await b.exists(old[3]!), false);
      assert.equal(await b.hold(old[4]!), 1);
      assert.deepEqual(
        (await b.audit.list({ held: true })).map((e) => e.row.taskId),
        [old[4]],
      );
      await b.release(old[4]!);
    });

    it("expired archived rows go (whole partitions on PostgreSQL); held and longer-kept rows stay", async () => {
      const fresh = await ctx.harness.freshUrl("archive_expiry");
      const a = await ctx.open(fresh, { resultExpires: null, resultExtended: true });
      await a.createArchive();
      const at = (days: number) => new Date(Date.now() - days * DAY);
      const mk = async (count: number, days: number, name: string) => {
        const ids = Array.from({ length: count }, () => randomUUID());
        await a.storeMany(
          ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1, request: { name } })),
          { now: at(days) },
        );
        return ids;
      };
      const plain = await mk(30, 20, "plain");
      const held = await mk(2, 20, "plain");
      const kept = await mk(3, 20, "keep.me");
      await a.hold(held[0]!);
      // Archived under 30d retention: these rows expire about 10 days from now.
      const moved = await a.cleanup({ archiveAfter: "7d", expires: "30d" });
      assert.equal(moved.archived, 35);
      // One hold placed before the move (filed "forever"), one after (it sits in a monthly partition).
      await a.hold(held[1]!);
      // Ninety days on, with a rule that now keeps keep.* for a year.
      const later = new Date(Date.now() + 90 * DAY);
      const dry = await a.cleanup({ expires: "30d", rules: [{ name: "keep.*", keep: "365d" }], now: later, dryRun: true });
      assert.equal(dry.archiveExpired, 30, "the dry run counts what the expiry pass then removes");
      const expired = await a.cleanup({ expires: "30d", rules: [{ name: "keep.*", keep: "365d" }], now: later });
      assert.equal(expired.archiveExpired, 30);
      if (ctx.harness.dialect === "postgresql") assert.ok(expired.partitionsDropped >= 1, "whole partitions were dropped");
      const left = await a.getManyTaskMeta([...plain, ...held, ...kept]);
      const existing = [...left.entries()].filter(([, m]) => !(m instanceof Error) && m.exists).map(([id]) => id);
      assert.deepEqual(existing.sort(), [...held, ...kept].sort());
      // Released, the held rows follow the rules again.
      await a.release(held);
      const laterStill = { expires: "30d", rules: [{ name: "keep.*", keep: "365d" }], now: new Date(later.getTime() + 40 * DAY) };
      assert.equal((await a.cleanup({ ...laterStill, dryRun: true })).archiveExpired, 2, "released rows are counted too");
      const after = await a.cleanup({
        expires: "30d",
        rules: [{ name: "keep.*", keep: "365d" }],
        now: new Date(later.getTime() + 40 * DAY),
      });
      assert.equal(after.archiveExpired, 2);
      assert.equal(await a.audit.count({}), 3);
    });

    it("an archived task keeps its history, which goes with the archived row (expiry or forget)", async () => {
      const fresh = await ctx.harness.freshUrl("archive_history");
      const a = await ctx.open(fresh, { resultExpires: null, resultExtended: true });
      await a.createArchive();
      const at = (days: number) => new Date(Date.now() - days * DAY);
      const [forgotten, expiring, kept] = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of [forgotten, expiring, kept]) {
        await a.markAsStarted(id, null, { now: at(20) });
        await a.markAsDone(id, 1, { now: at(20), request: { name: id === kept ? "keep.me" : "plain" } });
      }
      const statuses = async (id: string) => (await a.getTaskHistory(id)).map((e) => e.status);
      assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "30d" })).archived, 3);
      for (const id of [forgotten, expiring, kept])
        assert.deepEqual(await statuses(id), [states.STARTED, states.SUCCESS], "history moved with its task");
      if (ctx.harness.dialect === "postgresql") {
        // Into the history archive, partitioned like the archive, so a partition drop takes it along.
        const where = async (table: string) =>
          (
            await queryDatabase<{ n: number }>(fresh, `SELECT count(*)::int AS n FROM ${table} WHERE task_id = ANY($1)`, [
              [forgotten, expiring, kept],
            ])
          )[0]!.n;
        assert.equal(await where("celery_taskmeta_history"), 0);
        assert.equal(await where("celery_taskmeta_history_archive"), 6);
        const parts = await queryDatabase<{ name: string }>(
          fresh,
          "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'celery_taskmeta_history_archive'::regclass",
        );
        assert.ok(parts.length >= 2, "monthly history partitions beside the archive's");
      }
      assert.equal(await a.forget(forgotten), 1);
      assert.deepEqual(await statuses(forgotten), [], "forgetting an archived task forgets its history");
      const later = new Date(Date.now() + 90 * DAY);
      const expired = await a.cleanup({ expires: "30d", rules: [{ name: "keep.*", keep: "365d" }], now: later });
      assert.equal(expired.archiveExpired, 1);
      assert.deepEqual(await statuses(expiring), [], "an expired archive row takes its history along");
      assert.deepEqual(await statuses(kept), [states.STARTED, states.SUCCESS], "a kept archive row keeps its history");
      if (ctx.harness.dialect === "postgresql") {
        const left = await queryDatabase<{ task_id: string }>(fresh, "SELECT DISTINCT task_id FROM celery_taskmeta_history_archive");
        assert.deepEqual(
          left.map((r) => r.task_id),
          [kept],
          "the expired row's history went with its dropped partition; the kept row's was refiled with it",
        );
      }
    });

    it(
      "archived ids are found by index: by id, by id prefix, and their history (PostgreSQL); an older archive's indexes are replaced",
      { skip: ctx.harness.dialect !== "postgresql" && "the archive's indexes are PostgreSQL's" },
      async () => {
        const fresh = await ctx.harness.freshUrl("archive_indexes");
        const a = await ctx.open(fresh, { resultExpires: null });
        await a.createArchive();
        // An archive made before its indexes changed: a plain btree on task_id, (task_id, id) on history.
        await queryDatabase(fresh, "DROP INDEX celery_taskmeta_archive_tid_pattern");
        await queryDatabase(fresh, "DROP INDEX celery_taskmeta_history_archive_hash");
        await queryDatabase(fresh, "CREATE INDEX celery_taskmeta_archive_task_id ON celery_taskmeta_archive (task_id)");
        await queryDatabase(fresh, "CREATE INDEX celery_taskmeta_history_archive_task_id ON celery_taskmeta_history_archive (task_id, id)");
        await a.createArchive();
        const indexes = await queryDatabase<{ name: string; def: string }>(
          fresh,
          "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename IN ('celery_taskmeta_archive', 'celery_taskmeta_history_archive') ORDER BY 1",
        );
        const names = indexes.map((i) => i.name);
        assert.ok(
          !names.includes("celery_taskmeta_archive_task_id") && !names.includes("celery_taskmeta_history_archive_task_id"),
          names.join(),
        );
        assert.match(indexes.find((i) => i.name === "celery_taskmeta_archive_tid_pattern")!.def, /varchar_pattern_ops/);
        assert.match(indexes.find((i) => i.name === "celery_taskmeta_history_archive_hash")!.def, /USING hash/);
        const ids = Array.from({ length: 30 }, () => randomUUID());
        for (const id of ids) await a.markAsStarted(id, null, { now: new Date(Date.now() - 20 * DAY) });
        await a.storeMany(
          ids.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
          { now: new Date(Date.now() - 20 * DAY) },
        );
        assert.equal((await a.cleanup({ archiveAfter: "7d", expires: "400d" })).archived, 30);
        assert.deepEqual(
          (await a.getTaskHistory(ids[0]!)).map((e) => e.status),
          [states.STARTED, states.SUCCESS],
        );
        const prefix = ids[1]!.slice(0, 6);
        assert.deepEqual(
          (await a.audit.list({ idPrefix: prefix })).map((e) => e.row.taskId),
          ids.filter((id) => id.startsWith(prefix)),
        );
        // With sequential scans priced out, each lookup must find a usable index on every partition.
        for (const [statement, value] of [
          ["SELECT * FROM celery_taskmeta_archive WHERE task_id = $1::varchar", ids[2]!],
          ["SELECT * FROM celery_taskmeta_archive WHERE task_id LIKE $1", `${prefix}%`],
          ["SELECT * FROM celery_taskmeta_history_archive WHERE task_id = $1::varchar ORDER BY id", ids[2]!],
        ] as const) {
          const text = await explainWithoutSeqScans(fresh, statement, [value]);
          assert.doesNotMatch(text, /Seq Scan/, `${statement}\n${text}`);
          assert.match(text, /Index/, text);
        }
      },
    );

    it("a move killed with SIGKILL mid-run loses and doubles nothing; the rerun completes it", async () => {
      const fresh = await ctx.harness.freshUrl("archive_kill");
      const a = await ctx.open(fresh, { resultExpires: null });
      await a.createArchive();
      const ids = await (async () => {
        const list = Array.from({ length: 400 }, () => randomUUID());
        await a.storeMany(
          list.map((taskId) => ({ taskId, status: states.SUCCESS, result: 1 })),
          { now: new Date(Date.now() - 10 * DAY) },
        );
        return list;
      })();
      const child = spawn(process.execPath, [compiledFixture("archive-mover.ts"), fresh, "7d"], { stdio: ["ignore", "pipe", "pipe"] });
      let seen = 0;
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const killed = new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: Buffer) => {
          seen += (chunk.toString().match(/batch/g) ?? []).length;
          if (seen >= 3 && child.exitCode === null) child.kill("SIGKILL");
        });
        child.on("close", () => resolve());
      });
      await killed;
      assert.ok(seen >= 3, `the mover never got going: ${stderr}`);
      assert.equal(child.signalCode, "SIGKILL", "the mover finished before it could be killed");
      assert.equal(await a.audit.count({}), 400, "after the kill: every row once, in one tier or the other");
      const rerun = await a.cleanup({ archiveAfter: "7d", lock: "wait" });
      assert.ok(rerun.archived > 0 && rerun.archived < 400, `rerun moved ${rerun.archived}`);
      assert.equal((await a.cleanup({ archiveAfter: "7d" })).archived, 0);
      assert.equal(await a.audit.count({}), 400);
      const metas = await a.getManyTaskMeta(ids);
      assert.ok([...metas.values()].every((m) => !(m instanceof Error) && m.exists));
    });
  });
}

/** The plan of `statement` with sequential scans priced out: an index scan when any index can answer it. */
async function explainWithoutSeqScans(url: string, statement: string, values: unknown[]): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SET enable_seqscan = off");
    const rows = (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${statement}`, values)).rows;
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}
