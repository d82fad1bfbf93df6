/**
 * Failures grouped by exception type and message (the web view's overview): which errors happen, how
 * often, first and last seen, and which task names raise them. Rows that cannot be decoded form
 * their own group, so a corrupt row is counted, never dropped.
 */
import type { TaskRow } from "../db/driver.js";
import type { CorruptValueError } from "../errors.js";
import type { TaskMeta } from "../types.js";

/**
 * One listed row: decoded, or the raw row with why it could not be decoded. Defined here, below
 * ./auditor.ts (which lists the rows and groups them with this module), so the import between the
 * two points one way; auditor.ts re-exports it for its callers.
 */
export type ListedTask =
  | { id: number; cursor: string; meta: TaskMeta; corrupt?: undefined; row: TaskRow }
  | { id: number; cursor: string; meta?: undefined; corrupt: CorruptValueError; row: TaskRow };

export interface FailureGroup {
  /** Exception class name as stored (Python's or JavaScript's), or "(undecodable)". */
  type: string;
  /** First line of the exception message, at most 200 characters. */
  message: string;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
  /** Task names raising it, most frequent first (at most 5). */
  names: string[];
  /** The newest matching task, as an example. */
  sampleTaskId: string;
}

/** What the Tasks page filters on to find a group's tasks: "Type: message". */
export function failureKey(type: string, message: string): string {
  return message === "" ? type : `${type}: ${message}`;
}

/** The type and first message line of a listed FAILURE row. */
export function describeFailure(entry: ListedTask): { type: string; message: string } {
  if (entry.corrupt) return { type: "(undecodable)", message: entry.corrupt.message.split("\n")[0]!.slice(0, 200) };
  const result = entry.meta.result;
  if (result instanceof Error) {
    const type = (result as Error & { excType?: string }).excType ?? result.name;
    return { type, message: (result.message.split("\n")[0] ?? "").slice(0, 200) };
  }
  return { type: "(not an exception)", message: result === null ? "" : String(JSON.stringify(result)).slice(0, 200) };
}

/** A decoded failure standing for `count` rows first and last seen at these times. */
export interface WeightedFailure {
  entry: ListedTask;
  count: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
}

/** Merges failures by "Type: message": counts add up, times widen, names rank by count. */
export function groupFailures(failures: readonly WeightedFailure[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup & { nameCounts: Map<string, number> }>();
  for (const { entry, count, firstSeen, lastSeen } of failures) {
    const { type, message } = describeFailure(entry);
    const key = failureKey(type, message);
    let group = groups.get(key);
    if (!group) {
      group = {
        type,
        message,
        count: 0,
        firstSeen: null,
        lastSeen: null,
        names: [],
        sampleTaskId: entry.row.taskId,
        nameCounts: new Map(),
      };
      groups.set(key, group);
    }
    group.count += count;
    if (firstSeen && (!group.firstSeen || firstSeen < group.firstSeen)) group.firstSeen = firstSeen;
    if (lastSeen && (!group.lastSeen || lastSeen > group.lastSeen)) {
      group.lastSeen = lastSeen;
      group.sampleTaskId = entry.row.taskId;
    }
    const name = entry.row.name ?? "(unnamed)";
    group.nameCounts.set(name, (group.nameCounts.get(name) ?? 0) + count);
  }
  return [...groups.values()]
    .sort((a, b) => b.count - a.count || (b.lastSeen?.getTime() ?? 0) - (a.lastSeen?.getTime() ?? 0))
    .map(({ nameCounts, ...group }) => ({
      ...group,
      names: [...nameCounts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([n]) => n),
    }));
}
