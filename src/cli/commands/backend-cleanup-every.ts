/**
 * `taskledger backend-cleanup --every 1h`: the long-running form for containers and sidecars with
 * no cron. It runs at once, then every interval (± jitter) through the library's cleanup
 * job, logs one line per run as the cron form does, and on SIGTERM or SIGINT stops at the next
 * batch boundary and exits 0.
 */
import { resolveSchedule } from "../../cleanup/job.js";
import { ConfigError } from "../../errors.js";
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";
import { formatDuration } from "../format.js";
import { cleanupOptionsFrom, policyOf, summary, type CleanupCommandOptions } from "./backend-cleanup.js";

export interface EveryOptions {
  every?: string;
  jitter?: string;
  /** Hidden, for tests only: allows --every below one minute. */
  allowShortIntervalForTests?: boolean;
}

/** Whether the command line asks for the long-running form. */
export function wantsEvery(options: EveryOptions): boolean {
  return options.every !== undefined || options.jitter !== undefined;
}

export async function run(options: CleanupCommandOptions & EveryOptions, deps: CommandDeps): Promise<number> {
  if (options.every === undefined) throw new ConfigError("--jitter", "only applies with --every, e.g. --every 1h --jitter 5m");
  if (options.dryRun)
    throw new ConfigError(
      "--every",
      "cannot be combined with --dry-run: a dry run counts once and deletes nothing, so repeating it has no use; run `backend-cleanup --dry-run` on its own",
    );
  if (options.wait)
    throw new ConfigError(
      "--every",
      "cannot be combined with --wait: a run that finds another cleanup working is skipped and tried again at the next interval; drop --wait",
    );
  const schedule = resolveSchedule(options.every, options.jitter, options.allowShortIntervalForTests, {
    every: "--every",
    jitter: "--jitter",
  });
  const { lock: _lock, dryRun: _dryRun, ...cleanup } = cleanupOptionsFrom(options);
  const { out } = deps;

  return withBackend(deps, async (backend) => {
    const policy = policyOf(backend, cleanup);
    if (!deps.json) {
      out.err(
        `backend-cleanup on ${backend.url}: every ${options.every} (± ${formatDuration(schedule.jitterMs)}), ${policy}; SIGTERM or Ctrl-C stops it`,
      );
    }
    let stop: (signal: NodeJS.Signals) => void = () => undefined;
    const stopped = new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    try {
      const job = backend.startCleanupJob({
        ...cleanup,
        every: schedule.everyMs,
        jitter: schedule.jitterMs,
        firstRunWithin: 0,
        keepProcessAlive: true,
        allowShortIntervalForTests: options.allowShortIntervalForTests ?? false,
        onRun: (run) => {
          if (deps.json)
            out.out(
              JSON.stringify({
                url: backend.url,
                skipped: run.skipped,
                ...(run.heldBy ? { heldBy: run.heldBy } : {}),
                ...run.report,
                kept: policy,
              }),
            );
          else if (run.skipped)
            out.out(
              `backend-cleanup: skipped, another backend-cleanup is running${run.heldBy ? ` (held by ${run.heldBy})` : ""}; trying again at the next interval`,
            );
          else {
            if (run.report!.lockTakenOver) out.err(`backend-cleanup: took over the cleanup lock from ${run.report!.lockTakenOver}`);
            out.out(
              summary(run.report!, policy).replace("stopped by --max-runtime before the end", "stopped between batches before the end"),
            );
          }
        },
        onError: (error) => out.err(`backend-cleanup: run failed: ${error.message}; trying again at the next interval`),
      });
      const signal = await stopped;
      if (!deps.json) out.err(`backend-cleanup: ${signal}, stopping at the next batch boundary`);
      await job.stop();
      return EXIT.OK;
    } finally {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
    }
  });
}
