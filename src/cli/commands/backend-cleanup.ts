/**
 * `taskledger backend-cleanup`: result_expires for cron. Deletes in bounded batches; on a
 * terminal it shows a progress bar, under cron plain log lines and one summary line.
 */
import type { CleanupOptions } from "../../cleanup/cleaner.js";
import { describeRetention, durationText } from "../../cleanup/retention-text.js";
import { ConfigError } from "../../errors.js";
import type { CleanupProgress, CleanupReport } from "../../types.js";
import { positiveInt, withBackend, type CommandDeps } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { formatCount, formatDuration, progressLine } from "../format.js";

export interface CleanupCommandOptions {
  expires?: string;
  batchSize?: string;
  dryRun?: boolean;
  keepFailures?: string;
  keep?: string[];
  staleAfter?: string;
  maxRuntime?: string;
  wait?: boolean;
}

const LOG_EVERY_MS = 10_000;

export function cleanupOptionsFrom(options: CleanupCommandOptions): CleanupOptions {
  const keep: Record<string, string | null> = {};
  for (const entry of options.keep ?? []) {
    const match = /^([A-Za-z_]+)=(.+)$/.exec(entry.trim());
    if (!match) throw new ConfigError("--keep", `expected STATE=DURATION (e.g. FAILURE=90d or REVOKED=forever), got "${entry}"`);
    keep[match[1]!.toUpperCase()] = ["forever", "never", "none"].includes(match[2]!.toLowerCase()) ? null : match[2]!;
  }
  if (options.keepFailures !== undefined) keep["FAILURE"] = options.keepFailures;
  return {
    ...(options.expires !== undefined ? { expires: ["never", "none", "0"].includes(options.expires) ? null : options.expires } : {}),
    keep,
    ...(options.staleAfter !== undefined ? { staleAfter: options.staleAfter } : {}),
    ...(options.maxRuntime !== undefined ? { maxRuntime: options.maxRuntime } : {}),
    ...(options.batchSize !== undefined ? { batchSize: positiveInt(options.batchSize, "--batch-size") } : {}),
    dryRun: Boolean(options.dryRun),
    lock: options.wait ? "wait" : "fail",
  };
}

export async function run(options: CleanupCommandOptions, deps: CommandDeps): Promise<number> {
  const cleanup = cleanupOptionsFrom(options);
  const { out } = deps;
  return withBackend(deps, async (backend) => {
    const policy = policyOf(backend, cleanup);
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
        out.err(`backend-cleanup: ${formatCount(p.total)} rows deleted so far (${p.phase}${p.state ? ` ${p.state}` : ""}), ${formatDuration(p.elapsedMs)}`);
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
  if (report.dryRun) return `backend-cleanup (dry run): would delete ${what}; nothing deleted; kept ${policy}`;
  const stamped = report.stamped > 0 ? `; ${formatCount(report.stamped)} unready rows stamped to age from now` : "";
  const stopped = report.complete ? "" : "; stopped by --max-runtime before the end, run again to continue";
  return `backend-cleanup: deleted ${what} in ${formatDuration(report.durationMs)}${rate}${stamped}; kept ${policy}${stopped}`;
}
