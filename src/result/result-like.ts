/**
 * ResultLike: the read interface AsyncResult and EagerResult share, so code that
 * takes "a result" works the same on an in-process EagerResult as on a stored one. Celery's
 * EagerResult subclasses AsyncResult for the same reason.
 */
import type { TaskState } from "../states.js";
import type { ResultTuple, TaskMeta } from "../types.js";
import type { WaitOptions } from "./wait.js";

/** Called with each result's id and value (the Error when not propagating), as Celery's callback. */
export type ResultCallback = (taskId: string, value: unknown) => void;

export interface GetOptions extends WaitOptions {
  /** Throw the task's error for FAILURE and REVOKED (default true); otherwise return it. */
  propagate?: boolean;
  /**
   * With propagate, throw the error of any failed or revoked ancestor (`parent`, its parent, ...),
   * checked before waiting and after every wake-up (default true), as Celery's follow_parents.
   */
  followParents?: boolean;
  /**
   * Called with (taskId, value) once the value is known. get() still returns the value;
   * ResultSet.join() calls it per member in member order and returns [] (as Celery).
   */
  callback?: ResultCallback;
}

/** get() options under which a failure is returned, not thrown: the value is `T | Error`. */
export type NoPropagate = GetOptions & { propagate: false };
/** get() options under which a failure is thrown (propagate left out or true): the value is `T`. */
export type Propagate = GetOptions & { propagate?: true };

export interface ResultLike<T = unknown> {
  readonly id: string;
  /** Alias of id, as in Celery. */
  readonly taskId: string;
  /** The result this one was chained from, if known. */
  readonly parent: ResultLike | null;

  /** Everything stored about the task (an EagerResult builds it from what it ran). */
  meta(): Promise<TaskMeta<T>>;
  state(): Promise<TaskState>;
  status(): Promise<TaskState>;
  ready(): Promise<boolean>;
  successful(): Promise<boolean>;
  failed(): Promise<boolean>;
  result(): Promise<T | Error | null>;
  info(): Promise<T | Error | null>;
  traceback(): Promise<string | null>;
  dateDone(): Promise<Date | null>;
  name(): Promise<string | null>;
  args(): Promise<unknown[] | null>;
  kwargs(): Promise<Record<string, unknown> | null>;
  worker(): Promise<string | null>;
  retries(): Promise<number | null>;
  queue(): Promise<string | null>;
  exists(): Promise<boolean>;
  children(): Promise<ResultLike[]>;
  getParent(): Promise<ResultLike | null>;

  /** The value; with `propagate: false` a failure is returned instead of thrown, hence `T | Error`. */
  get(options: NoPropagate): Promise<T | Error>;
  get(options?: Propagate): Promise<T>;
  get(options: GetOptions): Promise<T | Error>;
  wait(options: NoPropagate): Promise<T | Error>;
  wait(options?: Propagate): Promise<T>;
  wait(options: GetOptions): Promise<T | Error>;
  promise(options: NoPropagate): Promise<T | Error>;
  promise(options?: Propagate): Promise<T>;
  promise(options: GetOptions): Promise<T | Error>;
  maybeThrow(options?: { propagate?: boolean; callback?: ResultCallback }): Promise<T | Error | null>;
  collect(options?: GetOptions & { intermediate?: boolean }): AsyncGenerator<[ResultLike, unknown]>;

  forget(): Promise<void>;
  revoke(reason?: string): Promise<boolean>;
  asTuple(): ResultTuple;
  toString(): string;
}
