/**
 * The options of a cleanup, its rules and its job, as callers write them. Types only, below
 * config.ts (whose BackendOptions names the job's options) and below the modules that act on
 * them (./cleaner.ts, ./job.ts, ./retention.ts), so every import between them points one way.
 */
import type { CleanupProgress, CleanupReport, Duration } from "../types.js";

/** One retention rule as users write it (library options and policy files). */
export interface RetentionRule {
  /** A state, e.g. "FAILURE", or several. */
  state?: string | readonly string[];
  /** Task name glob: `*` any run of characters, `?` one character, e.g. "billing.*". */
  name?: string;
  /** Queue glob, e.g. "audit" or "billing-*". */
  queue?: string;
  /** How long rows stay after they finish: a duration ("400d", ms as a number), or "forever" / null. */
  keep: Duration | "forever" | null;
}

export interface CleanupOptions {
  /** Retention for results; default the backend's resultExpires. null or 0 keeps them all. */
  expires?: Duration | null;
  /** Per-state retention overriding `expires`, e.g. `{ FAILURE: "90d" }`; null keeps that state forever. */
  keep?: Readonly<Record<string, Duration | null>>;
  /**
   * Retention rules by state, task-name glob and queue glob, e.g.
   * `[{ name: "billing.*", keep: "400d" }, { queue: "audit", keep: "forever" }]`. The most specific
   * matching rule governs a row (see cleanup/retention.ts); `expires` governs what no rule matches.
   * Held tasks (backend.hold) are kept whatever the rule.
   */
  rules?: readonly RetentionRule[];
  /**
   * States beyond Celery's that `keep` and `rules` may name, e.g. `["PROGRESS"]` for tasks that
   * store a state of their own. Any other unknown state in a rule is a ConfigError, so a typo
   * (FAILED for FAILURE) cannot leave its rows to the default retention.
   */
  customStates?: readonly string[];
  /**
   * Also delete unready rows (STARTED, RETRY, …; date_done NULL) not written for this long.
   * Rows other writers made (no date_updated) are first stamped with the time cleanup saw them.
   */
  staleAfter?: Duration | null;
  /**
   * Rows per DELETE statement, fixed. Default: adaptive, starting at 5000 and sized so each batch
   * takes about 100 ms on SQLite (a concurrent writer waits at most that long) or 500 ms on
   * PostgreSQL (where writers never wait on it), between 500 and 100,000 rows.
   */
  batchSize?: number;
  /**
   * Move finished rows done longer ago than this from the task table into the archive, in
   * bounded batches, each filed under its expiry by the rules; needs `migrate --archive`. The
   * archive itself is expired on every cleanup where it exists, whether or not this is given.
   */
  archiveAfter?: Duration | null;
  /** Stop cleanly between batches after this long. */
  maxRuntime?: Duration | null;
  /** Pause between batches (milliseconds or a duration such as "20ms"); default: none on PostgreSQL, half the last batch's time on SQLite. */
  pauseMs?: Duration;
  /** "fail" (default) throws CleanupLockedError when another cleanup runs; "wait" queues behind it. */
  lock?: "fail" | "wait";
  onProgress?: (progress: CleanupProgress) => void;
  /** Count what would be deleted, delete nothing (no lock is taken, nothing is stamped). */
  dryRun?: boolean;
  /** The clock, for tests and replays. */
  now?: Date;
  /** Aborting stops the run cleanly at the next batch boundary (report.complete false); see the cleanup job. */
  signal?: AbortSignal;
}

/** What one tick of the job did. */
export interface CleanupRun {
  /** Rows deleted: expired tasks, groups and stale unready rows. */
  deleted: number;
  /** What retention kept, in words ("results newer than 7d, FAILURE newer than 90d, unready rows"). */
  kept: string;
  /** Milliseconds the tick took. */
  took: number;
  /** True when another cleanup held the lock, so this tick deleted nothing and left it to that one. */
  skipped: boolean;
  /** When skipped: who held the lock and whether it is alive. */
  heldBy?: string;
  /** The cleanup's own report (absent when skipped). complete is false when stop() or maxRuntime ended it early. */
  report?: CleanupReport;
}

/**
 * Options of the cleanup job: its schedule and reporting, plus any cleanup option (expires, keep,
 * staleAfter, batchSize, maxRuntime, …), passed to every run untouched.
 */
export type CleanupJobOptions = Omit<CleanupOptions, "lock" | "dryRun" | "signal" | "now"> & {
  /** Interval between runs, at least one minute ("1h", "15m", or milliseconds). */
  every: Duration;
  /** Each interval is moved by up to this much either way, at random; default a tenth of `every`. */
  jitter?: Duration;
  /** The first run starts at a random point within this long; default 5 s. 0 runs at once. */
  firstRunWithin?: Duration;
  /** Called after every tick, also when it was skipped. */
  onRun?: (run: CleanupRun) => void;
  /** Called when a tick failed (database away, …); the next tick runs as scheduled. Default: a process warning. */
  onError?: (error: Error) => void;
  /** Keep the process alive while the job waits (the long-running CLI does); default false. */
  keepProcessAlive?: boolean;
  /**
   * For tests only: allows `every` below one minute so a test can watch several ticks without
   * waiting minutes. Never needed in production.
   */
  allowShortIntervalForTests?: boolean;
};
