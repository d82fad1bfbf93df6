/**
 * Domain types shared by the backend, the client API, the worker helpers and the CLI.
 * A leaf module: it imports nothing but states.
 */
import type { TaskState } from "./states.js";

/** A duration: milliseconds as a number, or a string like "500ms", "30s", "15m", "36h", "7d", "2w". */
export type Duration = number | string;

/** What a worker knows about the task it runs; stored in the extended and lineage columns. */
export interface TaskRequest {
  /** Task name, e.g. "reports.generate". */
  name?: string | null;
  args?: readonly unknown[] | null;
  kwargs?: Readonly<Record<string, unknown>> | null;
  /** Worker host name, e.g. "celery@worker1". */
  worker?: string | null;
  retries?: number | null;
  /** Queue (Celery's delivery_info.routing_key). */
  queue?: string | null;
  /** Id of the task that spawned this one. */
  parentId?: string | null;
  /** Id of the group this task belongs to. */
  groupId?: string | null;
  /** Ids of the tasks this one spawned. */
  children?: readonly string[] | null;
}

/** Everything stored about one task, decoded. An unknown id reads as PENDING with nulls. */
export interface TaskMeta<T = unknown> {
  taskId: string;
  status: TaskState;
  /** The return value; for FAILURE, RETRY and REVOKED the rebuilt Error. */
  result: T | Error | null;
  traceback: string | null;
  /** When the task became ready (UTC); null while unready. */
  dateDone: Date | null;
  name: string | null;
  args: unknown[] | null;
  kwargs: Record<string, unknown> | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  parentId: string | null;
  groupId: string | null;
  children: string[];
  /** When taskledger last wrote the row (UTC); null for rows other writers made. */
  dateUpdated: Date | null;
  /** False for an id with no row (PENDING by default). */
  exists: boolean;
}

/**
 * One change of a task's state, as the history triggers recorded it: every writer's
 * changes, Celery's included, one per state change and per retry attempt, oldest first.
 */
export interface TaskEvent {
  taskId: string;
  status: TaskState;
  /** When the change happened (UTC): the writer's own stamp where it gave one, else the database clock. */
  date: Date;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  /** For FAILURE and RETRY, the stored exception, decoded (Celery's pickles too); else null. */
  error: Error | null;
  traceback: string | null;
}

/** One result in a batch store. */
export interface StoreItem {
  taskId: string;
  status: TaskState;
  result?: unknown;
  traceback?: string | null;
  request?: TaskRequest | null;
}

/**
 * Celery's as_tuple() form of a result: `[[id, parent], null]` for one task and
 * `[[groupId, parent], [members...]]` for a group, members being results of either kind.
 */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** A saved group: its id, the ids of its results in order, and its stored tree. */
export interface SavedGroup {
  groupId: string;
  /** Every task id in the group, in order; a nested group contributes its members. */
  results: string[];
  /** The group as stored, nesting and parent kept: `[[groupId, parent], [members...]]`. */
  tuple: [[string, ResultTuple | null], ResultTuple[]];
  dateDone: Date | null;
}

/** Counts returned by cleanup. */
export interface CleanupReport {
  /** Expired task rows deleted (or, in a dry run, none). */
  tasks: number;
  /** Expired group rows deleted. */
  groups: number;
  /** Stale unready task rows deleted. */
  stale: number;
  /** Unready rows written by others that were given a date_updated to age from. */
  stamped: number;
  /** False when maxRuntime stopped the run between batches. */
  complete: boolean;
  durationMs: number;
  /** True when nothing was deleted and the counts say what would have been. */
  dryRun: boolean;
  /** Set when this run took the cleanup lock over from a holder found dead: who that was. */
  lockTakenOver?: string;
  /**
   * Task rows deleted (or, in a dry run, that would be) per retention rule, most specific rule
   * first; the last entry is the catch-all (`default=…`). Rules kept forever count 0.
   */
  byRule: { rule: string; tasks: number }[];
  /** Finished rows moved from the task table into the archive (archiveAfter). */
  archived: number;
  /** Archived rows that expired (dropped with their partitions on PostgreSQL). Not counted by a dry run. */
  archiveExpired: number;
  /** Archive partitions dropped (PostgreSQL). */
  partitionsDropped: number;
  /**
   * Archive DDL this run left to the next one because another transaction kept the archive locked
   * (a backup or a long export reading it): "dropping <partition>", "creating <partition>".
   * Waiting would have queued every read of the archive behind it. Moves wait for the next run
   * when a partition they need could not be created.
   */
  archiveDeferred: string[];
}

export interface CleanupProgress {
  phase: "tasks" | "groups" | "stale" | "stamp" | "archive" | "archive-expire";
  /** The state whose retention this pass applies, when the pass is per state. */
  state?: string;
  /** The retention rule this pass applies (tasks phase), as `--keep` spells it. */
  rule?: string;
  /** Rows deleted (or stamped) by the batch just finished. */
  batch: number;
  /** Rows deleted so far in the whole run. */
  total: number;
  elapsedMs: number;
}

/** A legal hold on a task: its row survives every retention rule until released. */
export interface TaskHold {
  taskId: string;
  heldAt: Date;
  reason: string | null;
}

/** What retention does with one task's row (backend.explainRetention, `backend-cleanup --explain`). */
export interface RetentionExplanation {
  taskId: string;
  /** False when no row is stored for the id. */
  exists: boolean;
  status: string | null;
  /** The governing rule as `--keep` spells it (`default=1d` for the catch-all); null without a row. */
  rule: string | null;
  /** The rule's retention; null keeps forever. */
  keepMs: number | null;
  /** When cleanup may delete the row (date done + retention); null when never: forever, held, or unready. */
  deleteAfter: Date | null;
  /** The hold keeping the row, if any. */
  held: TaskHold | null;
}
