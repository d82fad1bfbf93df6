/**
 * The types that cross the database seam (rows, parameters, audit queries and their results),
 * in a leaf module that imports nothing: driver.ts, rows.ts, tables.ts and the drivers all
 * depend on it, and it on none of them (after River's rivertype).
 */

/**
 * What a dialect can do, declared by its driver. Code and tests above src/db branch on these,
 * never on the dialect's name, so a new dialect takes the paths its abilities allow.
 */
export interface Capabilities {
  /** Other connections' commits are pushed per task id (LISTEN/NOTIFY); otherwise a change check wakes waiters. */
  readonly pushedChanges: boolean;
  /** Several connections write at once under row locks; false when one writer holds the whole database. */
  readonly concurrentWriters: boolean;
  /** The archive is partitioned by expiry and expires by dropping whole partitions; false: row batches. */
  readonly archivePartitions: boolean;
  /** Named locks belong to a server session and end with it; false: a lease row kept alive by a heartbeat. */
  readonly sessionLocks: boolean;
}

/**
 * A named lock's name: lower-case words joined by dots or dashes ("cleanup"). Locks are keyed by
 * name in every dialect, so two kinds of work never share one by accident.
 */
export type LockName = string;

/** A replica's replay, as Driver.replicaStatus reads it. */
export interface ReplicaStatus {
  /** Milliseconds since the last transaction it replayed was committed on the primary; 0 when caught up. */
  lagMs: number;
  /** Replay is paused (pg_wal_replay_pause()): the replica shows the primary as it was then. */
  paused: boolean;
}

/** One task row as written: every column taskledger sets. */
export interface TaskWrite {
  taskId: string;
  status: string;
  result: Buffer | null;
  traceback: string | null;
  /** When the task became ready; null for unready states, as Celery writes it. */
  dateDone: Date | null;
  /** Celery's extended columns; null leaves whatever the row holds. */
  extended: {
    name: string | null;
    args: Buffer | null;
    kwargs: Buffer | null;
    worker: string | null;
    retries: number | null;
    queue: string | null;
  } | null;
  /** taskledger's lineage columns; null leaves whatever the row holds. */
  parentId: string | null;
  groupId: string | null;
  children: Buffer | null;
  /** When this write happened; ages stale unready rows. */
  dateUpdated: Date;
  /**
   * Whether a ready state may replace a ready row (Celery's last-writer-wins among ready states).
   * False for "revoke unless finished". An unready state never replaces a ready row either way.
   */
  replaceReady: boolean;
}

/** One task row as read. */
export interface TaskRow {
  taskId: string;
  status: string | null;
  result: Buffer | null;
  traceback: string | null;
  dateDone: Date | null;
  name: string | null;
  args: Buffer | null;
  kwargs: Buffer | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  children: Buffer | null;
  parentId: string | null;
  groupId: string | null;
  dateUpdated: Date | null;
  /** Columns that held a value of the wrong type (SQLite), set to null above and named here. */
  mistyped?: readonly { column: string; storedAs: string; expected: string }[];
}

/** One row of the history table, as read. */
export interface TaskHistoryRow {
  taskId: string;
  status: string | null;
  /** When the change happened (UTC). */
  date: Date | null;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  /** The stored exception of a FAILURE or RETRY, else null. */
  result: Buffer | null;
  traceback: string | null;
}

export interface GroupRow {
  groupId: string;
  result: Buffer | null;
  dateDone: Date | null;
}

export interface DeleteExpiredParams {
  /** Rows whose date_done is strictly before this go. */
  before: Date;
  /** At most this many rows in one statement. */
  limit: number;
  /** Only these statuses (tasks only). */
  onlyStatuses?: readonly string[] | undefined;
  /** Never these statuses (tasks only). */
  exceptStatuses?: readonly string[] | undefined;
}

/** What a retention rule matches (src/cleanup/retention.ts); globs use `*` and `?`. */
export interface RulePredicate {
  states?: string[];
  name?: string;
  queue?: string;
}

export interface DeleteByRuleParams {
  /** Rows this rule governs: matching it and none of `outranked`. */
  rule: RulePredicate;
  /** The more specific rules: a row matching one of them is theirs, not this rule's. */
  outranked: readonly RulePredicate[];
  /** Rows whose date_done is strictly before this go. */
  before: Date;
  limit: number;
}

/** A ranked retention rule as the archive needs it: criteria and retention (null = forever). */
export interface ArchiveRule extends RulePredicate {
  keepMs: number | null;
}

export interface ArchiveMoveParams {
  before: Date;
  now: Date;
  limit: number;
  /** Most specific first, the catch-all last. */
  ranked: readonly ArchiveRule[];
  /** The longest finite retention among the rules, so partitions exist for every expiry. */
  maxKeepMs: number;
}

/** A legal hold on a task id. */
export interface HoldRow {
  taskId: string;
  heldAt: Date;
  reason: string | null;
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
  /** The statements the pending migrations would run here (adopting existing tables where found). */
  planned: string[];
}

/** What `migrate --distribute` found and did on a Citus coordinator (Driver.distribute). */
export interface DistributeReport {
  /** The Citus extension's version on the coordinator, e.g. "13.2-1". */
  citusVersion: string;
  /** Tables distributed by this run (by task_id, co-located with the task table). */
  distributed: string[];
  /** Tables that were distributed already. */
  already: string[];
  /** The statements this run executed; none on a second run. */
  ran: string[];
}

export type Dialect = "postgresql" | "sqlite" | "mysql";

/** Called with the task ids that changed, or null when anything may have changed. */
export type ChangeListener = (taskIds: readonly string[] | null) => void;

/** What the audit reads (list, count, stats, export, the web view) filter on. */
export interface TaskQuery {
  states?: readonly string[] | undefined;
  names?: readonly string[] | undefined;
  workers?: readonly string[] | undefined;
  queues?: readonly string[] | undefined;
  /** Only members of these groups (the group_id column taskledger writes). */
  groups?: readonly string[] | undefined;
  /** Only task ids starting with this text (the web view's id search). */
  idPrefix?: string | undefined;
  /** Rows whose date_done (or, while unready, date_updated) is at or after this. */
  since?: Date | undefined;
  /** … and before this. */
  until?: Date | undefined;
  /** Only tasks under a legal hold. */
  held?: boolean | undefined;
}

export type ListOrder = "newest" | "oldest";

/** A listed row: its database id, the cursor of the page that follows it, and the row. */
export interface ListedRow {
  id: number;
  /** Opaque; pass as `after` to list the rows after this one in the same order. */
  cursor: string;
  row: TaskRow;
}

/** Rows per value of one column (or hour, 'YYYY-MM-DD HH' UTC), with the FAILURE rows among them. */
export interface KeyCount {
  key: string | null;
  count: number;
  failures: number;
}

export interface StateNameWorkerCount {
  status: string | null;
  name: string | null;
  worker: string | null;
  count: number;
}

/** Finished rows in one bucket starting at `start` (epoch seconds, UTC). */
export interface BucketCount {
  start: number;
  count: number;
  failures: number;
}

/** FAILURE rows sharing one stored exception and task name: a sample row carrying the value, and the counts. */
export interface FailureValueCount {
  row: TaskRow;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
}

/** One task's life from its history: sent (first PENDING), first STARTED, finished (last ready). */
export interface TaskTiming {
  name: string | null;
  sent: Date | null;
  started: Date | null;
  done: Date | null;
}

/**
 * The cold-path reads behind auditing, written once for every dialect (./audit.ts) and run by each
 * driver. Every read covers both tiers once the archive exists.
 */
export interface AuditReads {
  /**
   * One page, newest or oldest first, after the row whose cursor is `after`. In id order (creation
   * order), except newest first with an `until`, which lists by time (ready rows by date_done,
   * unready ones by date_updated) so the page starts at `until` instead of below every newer row.
   */
  list(query: TaskQuery, page: { limit: number; after?: string | undefined; order: ListOrder }): Promise<ListedRow[]>;
  count(query: TaskQuery): Promise<number>;
  /** Most rows first, then by key. */
  countBy(query: TaskQuery, column: "status" | "name" | "worker" | "queue" | "hour", limit: number): Promise<KeyCount[]>;
  /** Counts per (status, name, worker) in one pass: the web overview's three tables from one read. */
  countByStateNameWorker(query: TaskQuery): Promise<StateNameWorkerCount[]>;
  /** Finished rows and failures per `seconds`-wide bucket of date_done, oldest first. */
  countByTimeBucket(query: TaskQuery, seconds: number): Promise<BucketCount[]>;
  /** FAILURE rows counted per distinct stored exception and task name, most frequent first. */
  countFailuresByValue(query: TaskQuery, limit: number): Promise<FailureValueCount[]>;
  /** Per matching task, its times from the history table. */
  timings(query: TaskQuery): Promise<TaskTiming[]>;
}

/** A history row with its id: ids grow in commit order per task, so a stream resumes after one. */
export interface TaskHistoryEntry extends TaskHistoryRow {
  id: number;
}

/** What a webhook is registered for: one task, task names matching a glob, or every task. */
export type WebhookMatch = { kind: "all" } | { kind: "task"; taskId: string } | { kind: "name"; glob: string };

/** A registered webhook. `match` is how it was registered, in words ("" for all). */
export interface WebhookRow {
  id: number;
  url: string;
  match: string;
  secret: string;
  createdAt: Date;
  /** Outbox rows waiting to be delivered (due or backing off). */
  pending: number;
  /** Dead letters: outbox rows given up on. */
  dead: number;
}

/** One outbox row: a ready state owed to one webhook, with what delivering it needs. */
export interface OutboxRow {
  id: number;
  webhookId: number;
  url: string;
  secret: string;
  taskId: string;
  status: string;
  dateDone: Date | null;
  createdAt: Date;
  /** Delivery attempts made so far. */
  attempts: number;
  lastError: string | null;
  deadAt: Date | null;
}
