import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { before, describe, it } from "node:test";
import { ConfigError, MissingTablesError, states, type DatabaseBackend, type RetentionRule, type TaskState } from "../../src/index.js";
import type { SuiteContext } from "./suite.js";

const DAY = 86_400_000;

/** Retention rules, --explain's library call, and legal holds. */
export function retentionSuite(ctx: SuiteContext): void {
  describe("retention rules and holds", () => {
    it("a database without the hold table says so, with the table's name, on hold, holds and release", async () => {
      const url = await ctx.harness.migratedUrl("no_hold_table");
      const b = await ctx.open(url);
      await ctx.harness.execRaw(url, "DROP TABLE celery_taskmeta_hold");
      const missing = (e: unknown) => e instanceof MissingTablesError && /celery_taskmeta_hold/.test(e.message);
      await assert.rejects(b.hold(["t1"]), missing);
      await assert.rejects(b.holds(["t1"]), missing);
      await assert.rejects(b.release(["t1"]), missing);
    });

    let b: DatabaseBackend;
    before(async () => {
      b = await ctx.open(await ctx.harness.migratedUrl("retention"), { resultExpires: "1d", resultExtended: true });
    });

    async function store(ageDays: number, request: { name?: string; queue?: string }, status: TaskState = states.SUCCESS): Promise<string> {
      const taskId = randomUUID();
      await b.storeMany([{ taskId, status, result: 1, request }], { now: new Date(Date.now() - ageDays * DAY) });
      return taskId;
    }

    async function existing(ids: readonly string[]): Promise<string[]> {
      const metas = await b.getManyTaskMeta(ids);
      return ids.filter((id) => {
        const meta = metas.get(id);
        return meta && !(meta instanceof Error) && meta.exists;
      });
    }

    async function clear(): Promise<void> {
      await b.cleanup({ expires: "1ms", staleAfter: "1ms" });
    }

    const rules: RetentionRule[] = [
      { name: "billing.*", keep: "400d" },
      { name: "billing.*", state: "FAILURE", keep: "forever" },
      { queue: "audit", keep: "forever" },
    ];

    it("the most specific matching rule governs each row; what no rule matches follows expires", async () => {
      await clear();
      const billingYoung = await store(2, { name: "billing.invoice" });
      const billingOld = await store(500, { name: "billing.invoice" });
      const billingFailedOld = await store(500, { name: "billing.refund" }, states.FAILURE);
      const auditOld = await store(500, { name: "reports.daily", queue: "audit" });
      const otherOld = await store(2, { name: "reports.daily", queue: "default" });
      const unnamedOld = await store(2, {});
      const dry = await b.cleanup({ rules, dryRun: true });
      assert.equal(dry.tasks, 3);
      const report = await b.cleanup({ rules });
      assert.equal(report.tasks, 3);
      assert.deepEqual(report.byRule, [
        { rule: "state=FAILURE,name=billing.*=forever", tasks: 0 },
        { rule: "name=billing.*=400d", tasks: 1 },
        { rule: "queue=audit=forever", tasks: 0 },
        { rule: "default=1d", tasks: 2 },
      ]);
      assert.deepEqual(dry.byRule, report.byRule, "the dry run counts per rule what the run deletes");
      assert.deepEqual(await existing([billingYoung, billingOld, billingFailedOld, auditOld, otherOld, unnamedOld]), [
        billingYoung,
        billingFailedOld,
        auditOld,
      ]);
    });

    it("globs are case-sensitive, * spans any run, ? one character, and everything else is literal", async () => {
      await clear();
      const exact = await store(10, { name: "a.b" });
      const dotIsLiteral = await store(10, { name: "axb" });
      const upper = await store(10, { name: "Billing.x" });
      const oneChar = await store(10, { name: "job7" });
      const twoChars = await store(10, { name: "job77" });
      const percent = await store(10, { name: "100%_done" });
      const notPercent = await store(10, { name: "100xxdone" });
      await b.cleanup({
        rules: [
          { name: "a.b", keep: "forever" },
          { name: "billing.*", keep: "forever" },
          { name: "job?", keep: "forever" },
          { name: "100%_done", keep: "forever" },
        ],
      });
      assert.deepEqual(await existing([exact, dotIsLiteral, upper, oneChar, twoChars, percent, notPercent]), [exact, oneChar, percent]);
    });

    it("between rules with as many criteria, the one with more literal text wins, then the earlier one", async () => {
      await clear();
      const invoice = await store(50, { name: "billing.invoice" });
      const other = await store(50, { name: "billing.other" });
      await b.cleanup({
        rules: [
          { name: "billing.*", keep: "forever" },
          { name: "billing.inv*", keep: "30d" },
        ],
      });
      assert.deepEqual(await existing([invoice, other]), [other]);
      const [explained] = await b.explainRetention([other], {
        rules: [
          { name: "b*", keep: "9d" },
          { queue: "q*", keep: "8d" },
          { name: "*", keep: "7d" },
        ],
      });
      assert.equal(explained!.rule, "name=b*=9d");
    });

    it("a bad rule is a ConfigError naming the rule and what is wrong, before anything is deleted", async () => {
      await clear();
      const kept = await store(5, { name: "x" });
      const bad: unknown[] = [
        [
          { name: "a*", keep: "1d" },
          { nmae: "b*", keep: "1d" },
        ],
        [{ name: "a*" }],
        [{ state: "FAILURE", keep: "soon" }],
        [{ name: "", keep: "1d" }],
      ];
      const expected = [
        /rules\[1\].*unknown field "nmae"/,
        /rules\[0\].*keep is missing/,
        /rules\[0\].*cannot read duration "soon"/,
        /rules\[0\].*name must be a glob/,
      ];
      for (const [i, rules] of bad.entries()) {
        await assert.rejects(
          b.cleanup({ rules: rules as RetentionRule[] }),
          (error: unknown) => error instanceof ConfigError && expected[i]!.test(error.message),
        );
      }
      assert.deepEqual(await existing([kept]), [kept]);
    });

    it("a retention or age beyond 36500d (100 years) is a ConfigError naming the option, before anything is deleted", async () => {
      await clear();
      const kept = await store(5, { name: "x" }, states.FAILURE);
      const cases: [Parameters<DatabaseBackend["cleanup"]>[0], string][] = [
        [{ expires: "1000000d" }, "expires"],
        [{ expires: "99999999999999d" }, "expires"],
        [{ expires: 36_501 * DAY }, "expires"],
        [{ keep: { FAILURE: "1000000d" } }, "keep.FAILURE.keep"],
        [{ rules: [{ name: "x", keep: "1000000d" }] }, "rules[0].keep"],
        [{ staleAfter: "1000000d" }, "staleAfter"],
        [{ archiveAfter: "1000000d" }, "archiveAfter"],
      ];
      for (const [options, option] of cases) {
        for (const dryRun of [true, false]) {
          await assert.rejects(
            b.cleanup({ ...options, dryRun }),
            (error: unknown) =>
              error instanceof ConfigError && error.option === option && /longer than the longest accepted, 36500d/.test(error.message),
            `${JSON.stringify(options)} dryRun ${dryRun}`,
          );
        }
      }
      await assert.rejects(b.explainRetention([kept], { expires: "1000000d" }), ConfigError);
      const longest = await b.cleanup({ expires: "36500d", keep: { FAILURE: 36_500 * DAY }, staleAfter: "36500d" });
      assert.equal(longest.tasks + longest.stale, 0);
      assert.deepEqual(await existing([kept]), [kept]);
    });

    it("a rule naming a state that is not one is a ConfigError with a did-you-mean, unless it is among customStates", async () => {
      await clear();
      const failed = await store(5, { name: "x" }, states.FAILURE);
      const cases: [Parameters<DatabaseBackend["cleanup"]>[0], RegExp][] = [
        [{ keep: { FAILED: "forever" } }, /^keep\.FAILED: "FAILED" is not a task state; did you mean FAILURE\?/],
        [{ rules: [{ state: "failed", keep: "forever" }] }, /^rules\[0\]: "FAILED" is not a task state; did you mean FAILURE\?/],
        [{ rules: [{ state: ["SUCCESS", "DONE"], keep: "forever" }] }, /^rules\[0\]: "DONE" is not a task state\. States are /],
        [
          { rules: [{ state: "PROGRES", keep: "forever" }], customStates: ["PROGRESS"] },
          /"PROGRES" is not a task state; did you mean PROGRESS\? .*and the custom PROGRESS/,
        ],
        [{ customStates: ["IN-FLIGHT"] }, /^customStates: custom states are a list of names/],
      ];
      for (const [options, message] of cases) {
        await assert.rejects(
          b.cleanup({ expires: "1d", ...options }),
          (error: unknown) => error instanceof ConfigError && message.test(error.message),
          JSON.stringify(options),
        );
        await assert.rejects(b.explainRetention([failed], { expires: "1d", ...options }), ConfigError, JSON.stringify(options));
      }
      assert.deepEqual(await existing([failed]), [failed], "no refused cleanup deleted the failure");
      const report = await b.cleanup({
        expires: "1d",
        rules: [{ state: ["progress", "FAILURE"], keep: "forever" }],
        keep: { Awaiting: "2d" },
        customStates: ["PROGRESS", "awaiting"],
      });
      assert.deepEqual(
        report.byRule.map((r) => r.rule),
        ["state=PROGRESS|FAILURE=forever", "state=AWAITING=2d", "default=1d"],
      );
      assert.deepEqual(await existing([failed]), [failed]);
    });

    it("explainRetention names the governing rule and when the row goes, for held, forever, unready and unknown ids", async () => {
      await clear();
      const billing = await store(3, { name: "billing.invoice" });
      const audit = await store(3, { queue: "audit" });
      const plain = await store(3, { name: "x" });
      const started = await store(3, { name: "x" }, states.STARTED);
      const held = await store(3, { name: "x" });
      await b.hold(held, { reason: "case 118" });
      const unknown = randomUUID();
      const out = await b.explainRetention([billing, audit, plain, started, held, unknown], { rules });
      const byId = new Map(out.map((e) => [e.taskId, e]));
      const meta = await b.getTaskMeta(billing);
      assert.equal(byId.get(billing)!.rule, "name=billing.*=400d");
      assert.equal(byId.get(billing)!.deleteAfter!.getTime(), meta.dateDone!.getTime() + 400 * DAY);
      assert.equal(byId.get(audit)!.rule, "queue=audit=forever");
      assert.equal(byId.get(audit)!.deleteAfter, null);
      assert.equal(byId.get(plain)!.rule, "default=1d");
      assert.equal(byId.get(started)!.deleteAfter, null);
      assert.equal(byId.get(held)!.held!.reason, "case 118");
      assert.equal(byId.get(held)!.deleteAfter, null);
      assert.equal(byId.get(unknown)!.exists, false);
      await b.release(held);
    });

    it("held rows survive every rule and stale deletion until released, then go; holds may precede the row", async () => {
      await clear();
      const heldDone = await store(30, { name: "x" });
      const heldStarted = await store(60, { name: "x" }, states.STARTED);
      const free = await store(30, { name: "x" });
      const later = randomUUID();
      assert.equal(await b.hold([heldDone, heldStarted, later, heldDone]), 3);
      assert.equal(await b.hold(heldDone), 0, "holding again is a no-op");
      await b.storeResult(later, 1, states.SUCCESS, { now: new Date(Date.now() - 30 * DAY) });
      const report = await b.cleanup({ rules: [{ name: "x", keep: "1d" }], staleAfter: "1d" });
      assert.equal(report.tasks + report.stale, 1);
      assert.deepEqual(await existing([heldDone, heldStarted, free, later]), [heldDone, heldStarted, later]);
      const listed = await b.audit.list({ held: true });
      assert.deepEqual(listed.map((e) => e.row.taskId).sort(), [heldDone, heldStarted, later].sort());
      assert.equal((await b.holds([heldDone, free])).length, 1);
      assert.equal(await b.release([heldDone, heldStarted, free]), 2);
      await b.cleanup({ rules: [{ name: "x", keep: "1d" }], staleAfter: "1d" });
      assert.deepEqual(await existing([heldDone, heldStarted, later]), [later]);
      await b.release(later);
    });

    it("the default catch-all alone (no rules) skips held rows too", async () => {
      await clear();
      const held = await store(5, {});
      const free = await store(5, {});
      await b.hold(held);
      const report = await b.cleanup();
      assert.equal(report.tasks, 1);
      assert.deepEqual(await existing([held, free]), [held]);
      await b.release(held);
    });
  });
}
