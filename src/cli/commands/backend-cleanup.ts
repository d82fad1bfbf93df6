/**
 * `taskledger backend-cleanup`: result_expires for cron. Deletes in bounded batches; on a
 * terminal it shows a progress bar, under cron plain log lines and one summary line.
 */
import type { CleanupOptions } from "../../cleanup/cleaner.js";
import { describeRetention, durationText } from "../../cleanup/retention-text.js";
import { parseKeepEntry, readPolicyFile, type RetentionRule } from "../../cleanup/retention.js";
import { readCustomStates } from "../../cleanup/rule-states.js";
import type { CleanupProgress, CleanupReport, RetentionExplanation } from "../../types.js";
import { withBackend, type CommandDeps } from "../open.js";
import { ageOption, parsePositiveInt, retentionOption } from "../options.js";
import { EXIT } from "../exit-codes.js";
import { formatCount, formatDuration, progressLine } from "../format.js";

export interface CleanupCommandOptions {
  expires?: string;
  batchSize?: string;
  dryRun?: boolean;
  keepFailures?: string;
  keep?: string[];
  /** A JSON retention policy file (README "Retention"). */
  policy?: string;
  /** States beyond Celery's that --keep and the policy's rules may name. */
  customState?: string[];
  /** Task ids to explain instead of cleaning up. */
  explain?: string[];
  staleAfter?: string;
  archiveAfter?: string;
  maxRuntime?: string;
  wait?: boolean;
}

const LOG_EVERY_MS = 10_000;

export function cleanupOptionsFrom(options: CleanupCommandOptions): CleanupOptions {
  const declared = readCustomStates(
    (options.customState ?? []).flatMap((names) => names.split(",")).map((name) => name.trim()),
    "--custom-state",
  );
  const policy = options.policy === undefined ? undefined : readPolicyFile(options.policy, declared);
  const customStates = [...declared, ...(policy?.customStates ?? [])];
  // Command-line rules come first, so on a tie in specificity they win over the policy file's.
  const rules: RetentionRule[] = (options.keep ?? []).map((entry) => parseKeepEntry(entry, customStates));
  if (options.keepFailures !== undefined) {
    retentionOption(options.keepFailures, "--keep-failures"); // a bad value is named as the option, not as rules[0]
    rules.unshift({ state: "FAILURE", keep: options.keepFailures });
  }
  if (policy) rules.push(...policy.rules);
  // --expires overrides the policy file's; either may say forever in any of its spellings.
  const expires =
    options.expires !== undefined
      ? retentionOption(options.expires, "--expires")
      : policy?.expires != null
        ? retentionOption(policy.expires, `${options.policy} expires`)
        : policy?.expires;
  const cleanup: CleanupOptions = {
    ...(expires !== undefined ? { expires } : {}),
    rules,
    ...(customStates.length > 0 ? { customStates } : {}),
    ...(options.staleAfter !== undefined ? { staleAfter: retentionOption(options.staleAfter, "--stale-after") } : {}),
    ...(options.archiveAfter !== undefined ? { archiveAfter: ageOption(options.archiveAfter, "--archive-after") } : {}),
    ...(options.maxRuntime !== undefined ? { maxRuntime: options.maxRuntime } : {}),
    ...(options.batchSize !== undefined ? { batchSize: parsePositiveInt(options.batchSize, "--batch-size") } : {}),
    dryRun: Boolean(options.dryRun),
    lock: options.wait ? "wait" : "fail",
  };
  return cleanup;
}

export async function run(options: CleanupCommandOptions, deps: CommandDeps): Promise<number> {
  const cleanup = cleanupOptionsFrom(options);
  const { out } = deps;
  if (options.explain) return explain(options.explain, cleanup, deps);
  return withBackend(deps, async (backend) => {
    const policy = policyOf(backend, cleanup);
    // Validates every rule before anything is deleted or locked.
    await backend.explainRetention([], cleanup);
    if (!deps.json && !cleanup.dryRun) out.err(`backend-cleanup on ${backend.url}: ${policy}`);

    let total = 0;
    if (out.interactive && !deps.json && !cleanup.dryRun) {
      const estimate = await backend.cleanup({ ...cleanup, dryRun: true });
      total = estimate.tasks + estimate.groups + estimate.stale;
    }
    let lastLog = Date.now();
    const onProgress = (p: CleanupProgress) => {
      if (deps.json) return;
      if (out.interactive) {
        out.progress(progressLine(p.total, Math.max(total, p.total), p.elapsedMs));
      } else if (Date.now() - lastLog >= LOG_EVERY_MS) {
        lastLog = Date.now();
        out.err(
          `backend-cleanup: ${formatCount(p.total)} rows deleted so far (${p.phase}${p.state ? ` ${p.state}` : ""}), ${formatDuration(p.elapsedMs)}`,
        );
      }
    };
    const report = await backend.cleanup({ ...cleanup, onProgress });
    if (out.interactive && !deps.json && !cleanup.dryRun) out.err("");
    if (report.lockTakenOver && !deps.json) out.err(`backend-cleanup: took over the cleanup lock from ${report.lockTakenOver}`);
    if (deps.json) out.out(JSON.stringify({ url: backend.url, ...report, kept: policy }));
    else out.out(summary(report, policy));
    return EXIT.OK;
  });
}

/** What the run keeps, in words, for its log lines. */
export function policyOf(backend: { resultExpiresMs: number | null }, cleanup: CleanupOptions): string {
  const expiresMs = cleanup.expires === undefined ? backend.resultExpiresMs : cleanup.expires;
  return describeRetention(expiresMs === null ? null : String(cleanup.expires ?? durationText(backend.resultExpiresMs!)), cleanup);
}

/** The one line a run logs (also each run of `--every`). */
export function summary(report: CleanupReport, policy: string): string {
  const rows = report.tasks + report.groups + report.stale;
  const rate = report.durationMs > 0 ? `, ${formatCount(Math.round((rows * 1000) / report.durationMs))} rows/s` : "";
  const what = `${formatCount(report.tasks)} expired task rows, ${formatCount(report.groups)} group rows, ${formatCount(report.stale)} stale unready rows`;
  const perRule = report.byRule.length > 1 ? `\n${report.byRule.map((r) => `  ${r.rule}: ${formatCount(r.tasks)}`).join("\n")}` : "";
  if (report.dryRun)
    return `backend-cleanup (dry run): would delete ${what}${report.archived > 0 ? `, archive ${formatCount(report.archived)} rows` : ""}${report.archiveExpired > 0 ? `, expire ${formatCount(report.archiveExpired)} archived rows` : ""}; nothing deleted; kept ${policy}${perRule ? `\ntask rows per rule (most specific first):${perRule}` : ""}`;
  const stamped = report.stamped > 0 ? `; ${formatCount(report.stamped)} unready rows stamped to age from now` : "";
  const archived =
    report.archived > 0 || report.archiveExpired > 0
      ? `; archived ${formatCount(report.archived)} rows, expired ${formatCount(report.archiveExpired)} archived rows (${report.partitionsDropped} partitions dropped)`
      : "";
  const stopped = report.complete ? "" : "; stopped by --max-runtime before the end, run again to continue";
  const deferred =
    report.archiveDeferred.length > 0
      ? `; left to the next run because the archive stayed locked (a backup or long read holds it): ${report.archiveDeferred.join(", ")}`
      : "";
  return `backend-cleanup: deleted ${what} in ${formatDuration(report.durationMs)}${rate}${stamped}; kept ${policy}${archived}${deferred}${stopped}`;
}

/** `--explain <task-id…>`: per task, the governing rule and when its row goes; deletes nothing. */
async function explain(taskIds: string[], cleanup: CleanupOptions, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const explained = await backend.explainRetention(taskIds, cleanup);
    if (deps.json) {
      deps.out.out(
        JSON.stringify(
          explained.map((e) => ({
            ...e,
            deleteAfter: e.deleteAfter?.toISOString() ?? null,
            held: e.held && { ...e.held, heldAt: e.held.heldAt.toISOString() },
          })),
        ),
      );
    } else {
      for (const e of explained) deps.out.out(explainLine(e));
    }
    return EXIT.OK;
  });
}

function explainLine(e: RetentionExplanation): string {
  if (!e.exists) return `${e.taskId}: no stored row${e.held ? ` (held since ${e.held.heldAt.toISOString()})` : ""}`;
  const head = `${e.taskId}: ${e.status ?? "no state"}, rule ${e.rule}`;
  if (e.held) return `${head}; held since ${e.held.heldAt.toISOString()}${e.held.reason ? ` (${e.held.reason})` : ""}: kept until released`;
  if (e.keepMs === null) return `${head}: kept forever`;
  if (e.deleteAfter === null) return `${head}: unready (no date done), not expired by this rule; see --stale-after`;
  return `${head}: deleted by the first cleanup after ${e.deleteAfter.toISOString()}`;
}
