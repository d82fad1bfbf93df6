/**
 * EagerResult: the outcome of a task run in-process (tests, eager mode). Same interface as
 * AsyncResult, always ready, never touches a database.
 */
import { randomUUID } from "node:crypto";
import { TaskRevokedError } from "../errors.js";
import { FAILURE, PROPAGATE_STATES, REVOKED, SUCCESS, type TaskState } from "../states.js";
import { assertWillNotBlock } from "./context.js";
import type { ResultTuple } from "./async-result.js";

export class EagerResult<T = unknown> {
  readonly parent = null;

  constructor(
    readonly id: string,
    private value: T | Error | null,
    private currentState: TaskState = SUCCESS,
    private readonly tracebackText: string | null = null,
    private readonly taskName: string | null = null,
  ) {}

  /** Runs `fn` now and captures its outcome: SUCCESS with the value, or FAILURE with the error. */
  static async run<T>(fn: () => T | Promise<T>, options: { id?: string; name?: string } = {}): Promise<EagerResult<T>> {
    const id = options.id ?? randomUUID();
    try {
      return new EagerResult<T>(id, await fn(), SUCCESS, null, options.name ?? null);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return new EagerResult<T>(id, failure, FAILURE, failure.stack ?? null, options.name ?? null);
    }
  }

  get taskId(): string {
    return this.id;
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

  async name(): Promise<string | null> {
    return this.taskName;
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

  async get(options: { propagate?: boolean; disableSyncSubtasks?: boolean } = {}): Promise<T> {
    if (options.disableSyncSubtasks !== false) assertWillNotBlock();
    if ((options.propagate ?? true) && PROPAGATE_STATES.has(this.currentState)) {
      throw this.value instanceof Error ? this.value : new Error(String(this.value));
    }
    return this.value as T;
  }

  wait(options: { propagate?: boolean; disableSyncSubtasks?: boolean } = {}): Promise<T> {
    return this.get(options);
  }

  promise(options: { propagate?: boolean; disableSyncSubtasks?: boolean } = {}): Promise<T> {
    return this.get(options);
  }

  async maybeThrow(): Promise<void> {
    if (PROPAGATE_STATES.has(this.currentState) && this.value instanceof Error) throw this.value;
  }

  asTuple(): ResultTuple {
    return [[this.id, null], null];
  }

  toString(): string {
    return this.id;
  }
}
