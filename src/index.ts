/**
 * taskledger: a SQL result store for task queues, on Celery's tables.
 * This module is the public API and nothing else.
 */
export { openBackend } from "./backend/open-backend.js";
export { DatabaseBackend, type StoreOptions, type MetaOrCorrupt } from "./backend/database-backend.js";
export type { CleanupOptions } from "./cleanup/cleaner.js";
export {
  parseDuration, parseDatabaseUrl, maskUrl, defaultDatabaseUrl,
  RESULT_EXPIRES_DEFAULT_MS, DEFAULT_SQLITE_FILE,
  type BackendOptions, type Duration, type RetryOptions, type DatabaseTarget,
} from "./config.js";
export { registerErrorClass, type StoredException } from "./codec/exception.js";
export * from "./errors.js";
export * as states from "./states.js";
export type { TaskState } from "./states.js";
export type { TaskMeta, TaskRequest, StoreItem, SavedGroup, CleanupReport, CleanupProgress } from "./types.js";
