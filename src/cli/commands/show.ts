/** `taskledger show <task-id...>`: every stored field of each task, decoded. */
import type { ListedTask } from "../../backend/auditor.js";
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";
import { formatDuration, isoTime, table } from "../format.js";
import type { TaskEvent } from "../../types.js";
import { taskRecord, toPlain } from "../../backend/task-records.js";

export async function run(taskIds: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const found = await backend.audit.byIds(taskIds);
    const byId = new Map(found.map((entry) => [entry.row.taskId, entry]));
    const missing = taskIds.filter((id) => !byId.has(id));
    // The timeline: one query per shown task; a database without history shows none.
    const histories = new Map<string, TaskEvent[] | Error>();
    for (const id of taskIds) {
      if (!byId.has(id)) continue;
      histories.set(id, await backend.audit.history(id).catch((error: Error) => error));
    }
    if (deps.json) {
      deps.out.out(
        JSON.stringify(
          taskIds.map((id) =>
            byId.has(id)
              ? { ...taskRecord(byId.get(id)!), history: historyRecords(histories.get(id)!) }
              : { task_id: id, status: "PENDING", exists: false, history: [] },
          ),
          null,
          2,
        ),
      );
    } else {
      deps.out.out(
        taskIds
          .map((id) =>
            byId.has(id)
              ? `${describe(byId.get(id)!)}\n${timeline(histories.get(id)!)}`
              : `task ${id}\n  no row: unknown to this store (reads as PENDING)`,
          )
          .join("\n\n"),
      );
    }
    return missing.length > 0 ? EXIT.FAILURE : EXIT.OK;
  });
}

function describe(entry: ListedTask): string {
  const row = entry.row;
  const field = (label: string, value: unknown) =>
    value === null || value === undefined || value === "" ? [] : [`  ${label.padEnd(12)} ${value}`];
  const json = (value: unknown) => JSON.stringify(toPlain(value));
  const lines = [
    `task ${row.taskId}`,
    ...field("status", row.status),
    ...field("name", row.name),
    ...field("worker", row.worker),
    ...field("queue", row.queue),
    ...field("retries", row.retries),
    ...field("date_done", isoTime(row.dateDone)),
    ...field("date_updated", isoTime(row.dateUpdated)),
    ...field("parent", row.parentId),
    ...field("group", row.groupId),
  ];
  if (entry.corrupt) {
    lines.push(`  ${"error".padEnd(12)} ${entry.corrupt.message}`);
    if (row.result)
      lines.push(
        `  ${"raw result".padEnd(12)} ${row.result.length} bytes: ${row.result.subarray(0, 32).toString("hex")}${row.result.length > 32 ? "…" : ""}`,
      );
  } else {
    const meta = entry.meta;
    lines.push(...field("children", meta.children.join(", ")));
    lines.push(...field("args", meta.args === null ? null : json(meta.args)));
    lines.push(...field("kwargs", meta.kwargs === null ? null : json(meta.kwargs)));
    const result =
      meta.result instanceof Error
        ? `${(meta.result as Error & { excType?: string }).excType ?? meta.result.name}: ${meta.result.message}`
        : json(meta.result);
    lines.push(`  ${"result".padEnd(12)} ${result}`);
  }
  if (row.traceback) lines.push("  traceback:", ...row.traceback.split("\n").map((line) => `    ${line}`));
  return lines.join("\n");
}

/** Events as JSON: TaskEvent with ISO dates and errors in their stored form. */
function historyRecords(events: TaskEvent[] | Error): unknown[] {
  if (events instanceof Error) return [];
  return events.map((e) => ({
    task_id: e.taskId,
    status: e.status,
    date: e.date.toISOString(),
    worker: e.worker,
    retries: e.retries,
    queue: e.queue,
    error: toPlain(e.error),
    traceback: e.traceback,
  }));
}

/** "history": time, state, worker, time since the previous event, and the exception of a failed attempt. */
function timeline(events: TaskEvent[] | Error): string {
  if (events instanceof Error) return `  history      unavailable (${events.message}); run \`taskledger migrate\``;
  if (events.length === 0) return "  history      none recorded (history off, or written before it was on)";
  const rows = events.map((e, i) => [
    e.date.toISOString(),
    e.status,
    e.worker ?? "",
    i === 0 ? "" : `+${formatDuration(e.date.getTime() - events[i - 1]!.date.getTime())}`,
    e.error ? `${(e.error as Error & { excType?: string }).excType ?? e.error.name}: ${e.error.message}` : "",
  ]);
  return `  history:\n${table(["TIME (UTC)", "STATE", "WORKER", "SINCE PREVIOUS", "EXCEPTION"], rows)
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n")}`;
}
