/**
 * Expiry, the way River's JobCleaner works: bounded DELETE batches on the date_done index, a loop
 * that stops on a short batch, a pause between batches so concurrent writers get the lock, and a
 * progress hook. Celery's cleanup() is one DELETE per table: a sequential scan on PostgreSQL
 * (Celery #10097) and one long write lock on SQLite.
 */
import { parseAge, parseDuration, resolveExpires } from "../config.js";
import { buildPolicy } from "./retention.js";
import type { CleanupOptions } from "./options.js";
import type { Driver } from "../db/driver.js";
import { CleanupLockedError, ConfigError } from "../errors.js";
import type { CleanupProgress, CleanupReport } from "../types.js";

export type { CleanupOptions };

/** The first batch when no batchSize is given; later batches adapt to BATCH_TARGET_MS. */
export const CLEANUP_BATCH_SIZE_DEFAULT = 5_000;
const BATCH_SIZE_MIN = 500;
const BATCH_SIZE_MAX = 100_000;
/**
 * How long one adaptive batch should take. SQLite's single writer waits for each batch, so its
 * batches stay well under the 250 ms a concurrent store may stall; PostgreSQL's writers never
 * wait on a batch, so its batches grow until per-statement overhead no longer matters.
 */
const BATCH_TARGET_MS = { concurrentWriters: 500, singleWriter: 100 } as const;
/** Unready rows seen without a date_updated are stamped this many at a time. */
const STAMP_BATCH_SIZE = 5_000;

interface Pass {
  phase: CleanupProgress["phase"];
  state?: string;
  /** The retention rule this pass applies, as `--keep` spells it. */
  rule?: string;
  run: (limit: number) => Promise<number>;
  /** The dry run's count of what `run` would delete, on the same predicate. */
  count?: () => Promise<number>;
}

export async function runCleanup(
  driver: Driver,
  defaultExpiresMs: number | null,
  options: CleanupOptions,
  retrying: <T>(operation: string, attempt: () => Promise<T>) => Promise<T>,
): Promise<CleanupReport> {
  const started = Date.now();
  const now = options.now ?? new Date();
  const adaptive = options.batchSize === undefined;
  let batchSize = options.batchSize ?? CLEANUP_BATCH_SIZE_DEFAULT;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError("batchSize", `expected a positive integer, got ${batchSize}`);
  const targetMs = driver.capabilities.concurrentWriters ? BATCH_TARGET_MS.concurrentWriters : BATCH_TARGET_MS.singleWriter;
  const expiresMs = options.expires === undefined ? defaultExpiresMs : resolveExpires(options.expires, "expires");
  const deadline = options.maxRuntime == null ? Infinity : started + parseDuration(options.maxRuntime, "maxRuntime");
  const pauseMs = options.pauseMs === undefined ? undefined : parseDuration(options.pauseMs, "pauseMs");
  const staleMs = options.staleAfter == null ? null : resolveExpires(options.staleAfter, "staleAfter");
  const before = (ms: number) => new Date(now.getTime() - ms);

  const ranked = buildPolicy(expiresMs, options.keep, options.rules, options.customStates);
  const passes: Pass[] = [];
  if (ranked.length === 1 && expiresMs !== null) {
    // The common case, one catch-all: its prepared statement.
    passes.push({
      phase: "tasks",
      rule: ranked[0]!.label,
      run: (limit) => driver.taskDeleteExpired({ before: before(expiresMs), limit }),
      count: () => driver.taskCountExpired({ before: before(expiresMs) }),
    });
  } else {
    ranked.forEach((rule, i) => {
      const keepMs = rule.keepMs;
      if (keepMs === null) return;
      const params = () => ({ rule, outranked: ranked.slice(0, i), before: before(keepMs) });
      passes.push({
        phase: "tasks",
        rule: rule.label,
        ...(rule.states?.length === 1 && rule.name === undefined && rule.queue === undefined ? { state: rule.states[0] } : {}),
        run: (limit) => driver.taskDeleteByRule({ ...params(), limit }),
        count: () => driver.taskCountByRule(params()),
      });
    });
  }
  if (expiresMs !== null) {
    passes.push({
      phase: "groups",
      run: (limit) => driver.groupDeleteExpired({ before: before(expiresMs), limit }),
      count: () => driver.groupCountExpired({ before: before(expiresMs) }),
    });
  }
  const archiveAfterMs = options.archiveAfter == null ? null : parseAge(options.archiveAfter, "archiveAfter");
  const archive = await retrying("cleanup archive check", () => driver.archiveEnabled());
  if (archiveAfterMs !== null && !archive) {
    throw new ConfigError("archiveAfter", "this database has no archive; create it once with `taskledger migrate --archive`, then archive");
  }
  const maxKeepMs = Math.max(0, ...ranked.map((r) => r.keepMs ?? 0));
  let moves: "unprepared" | "ready" | "deferred" = "unprepared";
  if (archiveAfterMs !== null) {
    passes.push({
      phase: "archive",
      run: async (limit) => {
        // Once per run, before the first batch: a move into a partition that could not be
        // created would fail, so the moves wait for the next run.
        if (moves === "unprepared") {
          const deferred = await driver.archivePrepare({ now, maxKeepMs });
          archiveDeferred.push(...deferred);
          moves = deferred.length === 0 ? "ready" : "deferred";
        }
        if (moves === "deferred") return 0;
        return driver.taskArchive({ before: before(archiveAfterMs), now, limit, ranked, maxKeepMs });
      },
      // What the real run moves: rows its expiry passes (run first) leave behind.
      count: () => driver.taskCountArchivable({ before: before(archiveAfterMs), ranked, now }),
    });
  }
  if (archive) {
    passes.push({
      phase: "archive-expire",
      run: async (limit) => {
        const step = await driver.archiveExpire({ ranked, now, limit, maxKeepMs });
        if (step.deferred) archiveDeferred.push(...step.deferred);
        partitionsDropped += step.partitions;
        archiveExpired += step.rows;
        // A short count ends the loop: PostgreSQL drops every due partition in one step.
        return step.more ? limit : 0;
      },
      count: () => driver.archiveCountExpired({ ranked, now }),
    });
  }
  let partitionsDropped = 0;
  let archiveExpired = 0;
  /** Archive DDL that waited too long for its lock, left to the next run. */
  const archiveDeferred: string[] = [];
  if (staleMs !== null) {
    passes.push({ phase: "stamp", run: (limit) => driver.taskStampUnaged({ now, limit: Math.min(limit, STAMP_BATCH_SIZE) }) });
    passes.push({
      phase: "stale",
      run: (limit) => driver.taskDeleteStale({ before: before(staleMs), limit }),
      count: () => driver.taskCountStale({ before: before(staleMs) }),
    });
  }

  if (options.dryRun) {
    const report = emptyReport(true, byRuleOf(ranked));
    for (const pass of passes) {
      if (!pass.count || pass.phase === "stamp") continue;
      const count = pass.count;
      const n = await retrying(`cleanup dry run ${pass.phase}`, count);
      if (pass.phase === "archive") report.archived += n;
      else if (pass.phase === "archive-expire") report.archiveExpired += n;
      else report[pass.phase] += n;
      if (pass.rule) report.byRule.find((r) => r.rule === pass.rule)!.tasks += n;
    }
    report.durationMs = Date.now() - started;
    return report;
  }

  const lock = await retrying("cleanup lock", () => driver.lock("cleanup", { wait: options.lock === "wait" }));
  if (!lock) throw new CleanupLockedError(await driver.lockHolder("cleanup").catch(() => undefined));
  const report = emptyReport(false, byRuleOf(ranked));
  if (lock.takenOverFrom) report.lockTakenOver = lock.takenOverFrom;
  let total = 0;
  try {
    for (const pass of passes) {
      for (;;) {
        // A lost lock (its heartbeat failed) means another run may have taken it: stop here.
        if (Date.now() >= deadline || lock.lost() || options.signal?.aborted) {
          report.complete = false;
          break;
        }
        const batchStarted = Date.now();
        const limit = batchSize;
        const count = await retrying(`cleanup ${pass.phase}`, () => pass.run(limit));
        const batchMs = Date.now() - batchStarted;
        if (pass.phase === "stamp") report.stamped += count;
        else if (pass.phase === "archive") report.archived += count;
        else if (pass.phase === "archive-expire") {
          /* counted in the pass itself */
        } else {
          report[pass.phase] += count;
          total += count;
          if (pass.rule) report.byRule.find((r) => r.rule === pass.rule)!.tasks += count;
        }
        options.onProgress?.({
          phase: pass.phase,
          ...(pass.state ? { state: pass.state } : {}),
          ...(pass.rule ? { rule: pass.rule } : {}),
          batch: count,
          total,
          elapsedMs: Date.now() - started,
        });
        if (count < (pass.phase === "stamp" ? Math.min(limit, STAMP_BATCH_SIZE) : limit)) break;
        if (adaptive) {
          // Scale toward the target time, at most doubling or halving per batch.
          const scale = Math.min(2, Math.max(0.5, targetMs / Math.max(1, batchMs)));
          batchSize = Math.round(Math.min(BATCH_SIZE_MAX, Math.max(BATCH_SIZE_MIN, batchSize * scale)));
        }
        const pause = pauseMs !== undefined ? pauseMs : driver.capabilities.concurrentWriters ? 0 : Math.min(50, batchMs / 2);
        await new Promise((resolve) => (pause > 0 ? setTimeout(resolve, pause) : setImmediate(resolve)));
      }
      if (!report.complete) break;
    }
  } finally {
    await lock.release();
  }
  report.partitionsDropped = partitionsDropped;
  report.archiveExpired = archiveExpired;
  // A month both the move and the expiry needed and could not create is reported once.
  report.archiveDeferred = [...new Set(archiveDeferred)];
  report.durationMs = Date.now() - started;
  return report;
}

/** One entry per rule, most specific first, for the report's per-rule counts. */
function byRuleOf(ranked: readonly { label: string }[]): CleanupReport["byRule"] {
  return ranked.map((rule) => ({ rule: rule.label, tasks: 0 }));
}

/** A report with nothing done yet: the dry run and the real run fill the same shape. */
function emptyReport(dryRun: boolean, byRule: CleanupReport["byRule"]): CleanupReport {
  return {
    tasks: 0,
    groups: 0,
    stale: 0,
    stamped: 0,
    complete: true,
    durationMs: 0,
    dryRun,
    byRule,
    archived: 0,
    archiveExpired: 0,
    partitionsDropped: 0,
    archiveDeferred: [],
  };
}
