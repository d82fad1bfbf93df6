/**
 * taskledger: a SQL result store for task queues, on Celery's tables.
 * This module is the public API and nothing else.
 */
export { openBackend } from "./backend/open-backend.js";
export { DatabaseBackend, type StoreOptions, type MetaOrCorrupt } from "./backend/database-backend.js";
export type { AddWebhookOptions, Webhook, DeadLetter } from "./backend/webhooks.js";
export {
  WebhookDispatcher,
  WEBHOOK_MAX_ATTEMPTS_DEFAULT,
  type WebhookDispatcherOptions,
  type WebhookAttempt,
  type WebhookPayload,
} from "./backend/webhook-dispatcher.js";
export { TransactionWriter } from "./backend/transaction-writer.js";
export type { ConnectionLike, TransactionLike, PgPoolLike, PgClientLike, SqliteDatabaseLike, DrizzleDatabaseLike } from "./db/external.js";
export type { Capabilities, ReplicaStatus } from "./db/types.js";
export type { CleanupOptions } from "./cleanup/cleaner.js";
export { CleanupJob, CLEANUP_JOB_MIN_INTERVAL_MS, type CleanupJobOptions, type CleanupRun } from "./cleanup/job.js";
export {
  parseDuration,
  parseDatabaseUrl,
  maskUrl,
  defaultDatabaseUrl,
  RESULT_EXPIRES_DEFAULT_MS,
  DEFAULT_SQLITE_FILE,
  type BackendOptions,
  type Duration,
  type RetryOptions,
  type RetryInput,
  type DatabaseTarget,
} from "./config.js";
export { registerErrorClass, type StoredException } from "./codec/exception.js";
export * from "./errors.js";
export * as states from "./states.js";
export type { TaskState } from "./states.js";
export type {
  TaskMeta,
  TaskRequest,
  TaskEvent,
  StoreItem,
  SavedGroup,
  CleanupReport,
  CleanupProgress,
  TaskHold,
  RetentionExplanation,
} from "./types.js";
export { readPolicyFile, type RetentionRule, type PolicyFile } from "./cleanup/retention.js";

export { AsyncResult, type GetOptions, type ResultCallback, type ResultTuple } from "./result/async-result.js";
export { ResultSet, type ResultMember, type GroupMember } from "./result/result-set.js";
export { GroupResult, type GroupTuple } from "./result/group-result.js";
export { EagerResult, type EagerRequest } from "./result/eager-result.js";
export type { ResultLike, NoPropagate, Propagate } from "./result/result-like.js";
export { resultFromTuple, type LegacyResultTuple } from "./result/tuples.js";
export { allowJoinResult, denyJoinResult, currentTaskId } from "./result/task-context.js";
export type { WaitOptions } from "./result/wait.js";
export { runTask, type RunRequest, type TaskContext, type TaskOutcome, type RunTaskOptions } from "./worker/run-task.js";
export { Retry } from "./worker/retry-signal.js";
