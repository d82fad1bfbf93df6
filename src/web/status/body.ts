/**
 * What the status endpoints say about a task or a group: state, readiness, when it finished, and
 * the result or the error's type and message only where the application allows it (never a
 * traceback, args or worker: a status page is not an audit view).
 */
import type { TaskMeta } from "../../types.js";
import { isReady } from "../../states.js";

export interface TaskStatus {
  task_id: string;
  state: string;
  ready: boolean;
  /** ISO 8601 UTC once ready, else null. */
  date_done: string | null;
  /** The return value (SUCCESS), when exposed and JSON can carry it. */
  result?: unknown;
  /** The error's type and message (FAILURE, REVOKED), when exposed. */
  error?: { type: string; message: string };
}

export interface GroupStatus {
  group_id: string;
  ready: boolean;
  completed: number;
  total: number;
  members: TaskStatus[];
}

export function taskStatus(meta: Pick<TaskMeta, "taskId" | "status" | "dateDone" | "result">, expose: boolean): TaskStatus {
  const ready = isReady(meta.status);
  const status: TaskStatus = { task_id: meta.taskId, state: meta.status, ready, date_done: meta.dateDone?.toISOString() ?? null };
  if (!expose || !ready) return status;
  if (meta.result instanceof Error) {
    const error = meta.result as Error & { excType?: string };
    status.error = { type: error.excType ?? error.name, message: error.message };
  } else if (meta.status === "SUCCESS") {
    try {
      // A value JSON cannot carry (a BigInt, a cycle) is left out rather than failing the answer.
      JSON.stringify(meta.result);
      status.result = meta.result;
    } catch {
      status.result = null;
    }
  }
  return status;
}

export function groupStatus(groupId: string, members: TaskStatus[]): GroupStatus {
  const completed = members.filter((m) => m.ready).length;
  return { group_id: groupId, ready: completed === members.length, completed, total: members.length, members };
}
