/**
 * The cleanup job: result_expires enforced inside the application, for deployments without
 * cron (a container, a worker pool, a desktop app on SQLite). Celery gets the same from beat's
 * daily `celery.backend_cleanup`; River runs a JobCleaner maintenance service, pg-boss schedules
 * its maintenance. The job runs the same cleanup as `backend-cleanup`:
 * - first within a few seconds (jittered), then every interval ± jitter, so many instances
 *   started together spread out;
 * - one run at a time across processes through cleanup's own lock, never waiting for it: a run
 *   that finds the lock held is reported as skipped, not queued;
 * - errors never escape: they go to onError and the next tick simply runs again;
 * - its timer is unref'd (it never keeps a process alive), and stop() (or the backend's close())
 *   ends a run in progress at its next batch boundary and waits for it.
 */
import { parseDuration, type Duration } from "../config.js";
import { CleanupLockedError, ConfigError } from "../errors.js";
import type { CleanupReport } from "../types.js";
import type { CleanupJobOptions, CleanupOptions, CleanupRun } from "./options.js";

export type { CleanupJobOptions, CleanupRun };

/** Below this interval a job is refused: a run every few seconds is a loop, not a schedule. */
export const CLEANUP_JOB_MIN_INTERVAL_MS = 60_000;
/** The first run starts at a random point within this long of starting the job. */
export const CLEANUP_JOB_FIRST_RUN_WITHIN_MS = 5_000;
/** Default jitter: this fraction of the interval, added or taken away at random. */
const JITTER_FRACTION_DEFAULT = 0.1;

/**
 * Reads and checks a job's interval and jitter (the CLI checks `--every` with it before opening
 * the database); `names` are the option names the messages use.
 */
export function resolveSchedule(
  every: Duration,
  jitter: Duration | undefined,
  allowShortIntervalForTests = false,
  names = { every: "every", jitter: "jitter" },
): { everyMs: number; jitterMs: number } {
  const everyMs = parseDuration(every, names.every);
  if (everyMs < CLEANUP_JOB_MIN_INTERVAL_MS && !allowShortIntervalForTests) {
    throw new ConfigError(names.every, `cleanup runs at most once a minute, got ${every}; use 1m or more (hourly or daily is usual)`);
  }
  if (everyMs <= 0) throw new ConfigError(names.every, `expected a positive interval, got ${every}`);
  const jitterMs = jitter === undefined ? Math.round(everyMs * JITTER_FRACTION_DEFAULT) : parseDuration(jitter, names.jitter);
  if (jitterMs >= everyMs) throw new ConfigError(names.jitter, `must be less than the interval (${every}), got ${jitter}`);
  return { everyMs, jitterMs };
}

/** A running cleanup job; see DatabaseBackend.startCleanupJob. */
export class CleanupJob {
  private readonly everyMs: number;
  private readonly jitterMs: number;
  private readonly cleanupOptions: CleanupOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly cleanup: (options: CleanupOptions) => Promise<CleanupReport>,
    private readonly kept: (options: CleanupOptions) => string,
    private readonly options: CleanupJobOptions,
    private readonly onStopped: () => void = () => undefined,
  ) {
    const { every, jitter, firstRunWithin, onRun, onError, keepProcessAlive, allowShortIntervalForTests, ...cleanupOptions } = options;
    ({ everyMs: this.everyMs, jitterMs: this.jitterMs } = resolveSchedule(every, jitter, allowShortIntervalForTests));
    this.cleanupOptions = cleanupOptions;
    const within = firstRunWithin === undefined ? CLEANUP_JOB_FIRST_RUN_WITHIN_MS : parseDuration(firstRunWithin, "firstRunWithin");
    this.schedule(Math.random() * within);
  }

  /** True until stop() (or the backend's close()) was called. */
  get active(): boolean {
    return this.stopping === undefined;
  }

  /**
   * Stops the job: no further run starts, and a run in progress stops at its next batch
   * boundary (each batch is one statement, so none is left half done). Resolves once it has.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.abort?.abort();
      await this.running;
      this.onStopped();
    })();
    return this.stopping;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, delayMs));
    if (!this.options.keepProcessAlive) this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    const abort = new AbortController();
    this.abort = abort;
    this.running = this.runOnce(abort.signal);
    await this.running;
    this.running = undefined;
    this.abort = undefined;
    this.schedule(this.everyMs + (Math.random() * 2 - 1) * this.jitterMs);
  }

  /** One run; never rejects. */
  private async runOnce(signal: AbortSignal): Promise<void> {
    const started = Date.now();
    let run: CleanupRun;
    try {
      const kept = this.kept(this.cleanupOptions);
      try {
        // lock "fail": one run at a time across processes, and a busy lock is a skipped tick.
        const report = await this.cleanup({ ...this.cleanupOptions, lock: "fail", dryRun: false, signal });
        run = { deleted: report.tasks + report.groups + report.stale, kept, took: Date.now() - started, skipped: false, report };
      } catch (error) {
        if (!(error instanceof CleanupLockedError)) throw error;
        run = { deleted: 0, kept, took: Date.now() - started, skipped: true, ...(error.holder ? { heldBy: error.holder } : {}) };
      }
    } catch (error) {
      this.report("onError", error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.report("onRun", run);
  }

  /** Calls a user callback; what it throws is reported, never thrown into the timer. */
  private report(callback: "onRun", value: CleanupRun): void;
  private report(callback: "onError", value: Error): void;
  private report(callback: "onRun" | "onError", value: CleanupRun | Error): void {
    try {
      if (callback === "onRun") this.options.onRun?.(value as CleanupRun);
      else if (this.options.onError) this.options.onError(value as Error);
      else
        process.emitWarning(`taskledger cleanup job: ${(value as Error).message}; retrying at the next tick`, "TaskledgerCleanupWarning");
    } catch (error) {
      if (callback === "onRun") this.report("onError", error instanceof Error ? error : new Error(String(error)));
      else
        process.emitWarning(
          `taskledger cleanup job: onError threw: ${error instanceof Error ? error.message : String(error)}`,
          "TaskledgerCleanupWarning",
        );
    }
  }
}
