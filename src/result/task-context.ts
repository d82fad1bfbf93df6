/**
 * Which task, if any, the current async call chain runs inside, via AsyncLocalStorage. get()
 * consults it: waiting on another task from inside a task can deadlock a worker pool (every slot
 * waits on work queued behind it), so it is refused unless the caller opts in, as Celery's
 * assert_will_not_block / allow_join_result do.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { WouldBlockError } from "../errors.js";

interface JoinContext {
  /** The running task's id; undefined outside any task. */
  taskId: string | undefined;
  allowJoin: boolean;
}

const storage = new AsyncLocalStorage<JoinContext>();

/** Runs `fn` as the body of task `taskId`; get() inside it refuses to block. */
export function runInTaskContext<T>(taskId: string, fn: () => T): T {
  return storage.run({ taskId, allowJoin: false }, fn);
}

/** The id of the task the caller runs inside, if any. */
export function currentTaskId(): string | undefined {
  return storage.getStore()?.taskId;
}

/** Runs `fn` with waiting on results allowed, even inside a task (Celery's allow_join_result). */
export function allowJoinResult<T>(fn: () => T): T {
  return storage.run({ taskId: currentTaskId(), allowJoin: true }, fn);
}

/** Runs `fn` with waiting on results refused, even outside a task (Celery's denied_join_result). */
export function denyJoinResult<T>(fn: () => T): T {
  return storage.run({ taskId: currentTaskId() ?? "(denied)", allowJoin: false }, fn);
}

/** Throws WouldBlockError inside a task unless allowJoinResult() is in effect. */
export function assertWillNotBlock(): void {
  const context = storage.getStore();
  if (context?.taskId !== undefined && !context.allowJoin) throw new WouldBlockError();
}
