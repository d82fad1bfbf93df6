/**
 * EagerResult: the outcome of a task run in-process (tests, eager mode). It implements the same
 * ResultLike interface as AsyncResult (meta, dateDone, args, get with its options, collect, ...),
 * is always ready, and never touches a database.
 */
import { randomUUID } from "node:crypto";
import { TaskRevokedError } from "../errors.js";
import { FAILURE, PROPAGATE_STATES, REVOKED, SUCCESS, type TaskState } from "../states.js";
import type { ResultTuple, TaskMeta } from "../types.js";
import type { GetOptions, ResultCallback } from "./async-result.js";
import { assertWillNotBlock } from "./task-context.js";
import type { NoPropagate, Propagate, ResultLike } from "./result-like.js";

/** What an EagerResult knows besides its value: the request it ran with. */
export interface EagerRequest {
  name?: string | null;
  args?: unknown[] | null;
  kwargs?: Record<string, unknown> | null;
}

export class EagerResult<T = unknown> implements ResultLike<T> {
  readonly parent = null;
  private readonly request: EagerRequest;
  private readonly doneAt = new Date();

  constructor(
    readonly id: string,
    private value: T | Error | null,
    private currentState: TaskState = SUCCESS,
    private readonly tracebackText: string | null = null,
    /** The task name, or the request it ran with. */
    request: string | null | EagerRequest = null,
  ) {
    this.request = typeof request === "string" || request === null ? { name: request } : request;
  }

  /** Runs `fn` now and captures its outcome: SUCCESS with the value, or FAILURE with the error. */
  static async run<T>(fn: () => T | Promise<T>, options: { id?: string } & EagerRequest = {}): Promise<EagerResult<T>> {
    const { id = randomUUID(), ...request } = options;
    try {
      return new EagerResult<T>(id, await fn(), SUCCESS, null, request);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return new EagerResult<T>(id, failure, FAILURE, failure.stack ?? null, request);
    }
  }

  get taskId(): string {
    return this.id;
  }

  /** The meta a stored task with this outcome would have. */
  async meta(): Promise<TaskMeta<T>> {
    return {
      taskId: this.id,
      status: this.currentState,
      result: this.value,
      traceback: this.tracebackText,
      dateDone: this.doneAt,
      name: this.request.name ?? null,
      args: this.request.args ?? null,
      kwargs: this.request.kwargs ?? null,
      worker: null,
      retries: null,
      queue: null,
      parentId: null,
      groupId: null,
      children: [],
      dateUpdated: this.doneAt,
      exists: true,
    };
  }

  async state(): Promise<TaskState> {
    return this.currentState;
  }

  status(): Promise<TaskState> {
    return this.state();
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async successful(): Promise<boolean> {
    return this.currentState === SUCCESS;
  }

  async failed(): Promise<boolean> {
    return this.currentState === FAILURE;
  }

  async result(): Promise<T | Error | null> {
    return this.value;
  }

  info(): Promise<T | Error | null> {
    return this.result();
  }

  async traceback(): Promise<string | null> {
    return this.tracebackText;
  }

  /** When the function finished (the result was made). */
  async dateDone(): Promise<Date | null> {
    return this.doneAt;
  }

  async name(): Promise<string | null> {
    return this.request.name ?? null;
  }

  async args(): Promise<unknown[] | null> {
    return this.request.args ?? null;
  }

  async kwargs(): Promise<Record<string, unknown> | null> {
    return this.request.kwargs ?? null;
  }

  /** Always null: no worker ran it. */
  async worker(): Promise<string | null> {
    return null;
  }

  async retries(): Promise<number | null> {
    return null;
  }

  async queue(): Promise<string | null> {
    return null;
  }

  async exists(): Promise<boolean> {
    return true;
  }

  async forget(): Promise<void> {}

  /** Marks the result REVOKED, as Celery's EagerResult does. */
  async revoke(reason = "revoked"): Promise<boolean> {
    this.currentState = REVOKED;
    this.value = new TaskRevokedError(reason);
    return true;
  }

  async children(): Promise<never[]> {
    return [];
  }

  async getParent(): Promise<null> {
    return null;
  }

  /** The value at once (it is always ready); timeout and interval are accepted and have nothing to wait for. */
  get(options: NoPropagate): Promise<T | Error>;
  get(options?: Propagate): Promise<T>;
  get(options: GetOptions): Promise<T | Error>;
  async get(options: GetOptions = {}): Promise<T | Error> {
    if (options.disableSyncSubtasks !== false) assertWillNotBlock();
    return this.settle(options.propagate ?? true, options.callback);
  }

  wait(options: NoPropagate): Promise<T | Error>;
  wait(options?: Propagate): Promise<T>;
  wait(options: GetOptions): Promise<T | Error>;
  wait(options: GetOptions = {}): Promise<T | Error> {
    return this.get(options);
  }

  promise(options: NoPropagate): Promise<T | Error>;
  promise(options?: Propagate): Promise<T>;
  promise(options: GetOptions): Promise<T | Error>;
  promise(options: GetOptions = {}): Promise<T | Error> {
    return this.get(options);
  }

  async maybeThrow(options: { propagate?: boolean; callback?: ResultCallback } = {}): Promise<T | Error | null> {
    return this.settle(options.propagate ?? true, options.callback);
  }

  /** Yields [this, value]: an eager result has no stored children. */
  async *collect(options: GetOptions & { intermediate?: boolean } = {}): AsyncGenerator<[ResultLike, unknown]> {
    const { intermediate: _, ...getOptions } = options;
    yield [this, await this.get(getOptions)];
  }

  asTuple(): ResultTuple {
    return [[this.id, null], null];
  }

  toString(): string {
    return this.id;
  }

  private settle(propagate: boolean, callback: ResultCallback | undefined): T {
    if (propagate && PROPAGATE_STATES.has(this.currentState)) {
      throw this.value instanceof Error ? this.value : new Error(String(this.value));
    }
    callback?.(this.id, this.value);
    return this.value as T;
  }
}
