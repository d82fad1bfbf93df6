/**
 * Task states, as Celery names them, and the sets the rest of taskledger reasons with.
 * Custom states (any string up to 50 characters) are allowed and count as unready.
 */
export const PENDING = "PENDING";
export const RECEIVED = "RECEIVED";
export const STARTED = "STARTED";
export const RETRY = "RETRY";
export const REJECTED = "REJECTED";
export const FAILURE = "FAILURE";
export const REVOKED = "REVOKED";
export const SUCCESS = "SUCCESS";
/** Celery's state for a task whose result was ignored (ignore_result); taskledger never stores it. */
export const IGNORED = "IGNORED";

export type KnownState =
  | typeof PENDING
  | typeof RECEIVED
  | typeof STARTED
  | typeof RETRY
  | typeof REJECTED
  | typeof FAILURE
  | typeof REVOKED
  | typeof SUCCESS
  | typeof IGNORED;

/** Any Celery state; custom states are plain strings. */
export type TaskState = KnownState | (string & {});

/** States after which a task never changes again (unless forgotten). */
export const READY_STATES: ReadonlySet<string> = new Set([SUCCESS, FAILURE, REVOKED]);
/** States of a task that may still change. */
export const UNREADY_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY]);
/** Celery's ALL_STATES: the built-in states a task can be stored in (REJECTED and IGNORED are not among them, as in Celery). */
export const ALL_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED]);
/** States whose stored result is an exception. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([RETRY, FAILURE, REVOKED]);
/**
 * States whose history row keeps the result and traceback (the error of a failure or of each
 * retry); the history triggers spell this set in their migrations, compared by test/rules.test.ts.
 */
export const HISTORY_RESULT_STATES: ReadonlySet<string> = new Set([FAILURE, RETRY]);
/** States whose exception `get()` rethrows when `propagate` is on. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([FAILURE, REVOKED]);

/** Celery's precedence, highest first; `null` stands for any custom state. */
export const PRECEDENCE: readonly (string | null)[] = [SUCCESS, FAILURE, null, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING];

/** Position of a state in {@link PRECEDENCE}: lower is stronger. */
export function precedence(state: string): number {
  const index = PRECEDENCE.indexOf(state);
  return index >= 0 ? index : PRECEDENCE.indexOf(null);
}

export function isReady(state: string): boolean {
  return READY_STATES.has(state);
}

/**
 * Whether a write of `incoming` may replace a row currently in `current`.
 * The database statements enforce the same rule in SQL (see src/db/*); this copy serves batch
 * de-duplication in memory, where two writes for one id meet before reaching the database.
 */
export function mayReplace(current: string, incoming: string): boolean {
  // PENDING (a producer's markAsSent) never replaces a state a worker wrote.
  if (incoming === PENDING && current !== PENDING) return false;
  return !isReady(current) || isReady(incoming);
}

export const states = {
  PENDING,
  RECEIVED,
  STARTED,
  RETRY,
  REJECTED,
  FAILURE,
  REVOKED,
  SUCCESS,
  IGNORED,
  READY_STATES,
  ALL_STATES,
  UNREADY_STATES,
  EXCEPTION_STATES,
  PROPAGATE_STATES,
  PRECEDENCE,
} as const;
