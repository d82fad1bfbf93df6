/** `taskledger show <task-id...>`: every stored field of each task, decoded. */
import type { ListedTask } from "../../backend/auditor.js";
import { withBackend, type CommandDeps } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { isoTime } from "../format.js";
import { taskRecord, toPlain } from "../values.js";

export async function run(taskIds: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const found = await backend.audit.byIds(taskIds);
    const byId = new Map(found.map((entry) => [entry.row.taskId, entry]));
    const missing = taskIds.filter((id) => !byId.has(id));
    if (deps.json) {
      deps.out.out(JSON.stringify(taskIds.map((id) => (byId.has(id) ? taskRecord(byId.get(id)!) : { task_id: id, status: "PENDING", exists: false })), null, 2));
    } else {
      deps.out.out(taskIds.map((id) => (byId.has(id) ? describe(byId.get(id)!) : `task ${id}\n  no row: unknown to this store (reads as PENDING)`)).join("\n\n"));
    }
    return missing.length > 0 ? EXIT.FAILURE : EXIT.OK;
  });
}

function describe(entry: ListedTask): string {
  const row = entry.row;
  const field = (label: string, value: unknown) => (value === null || value === undefined || value === "" ? [] : [`  ${label.padEnd(12)} ${value}`]);
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
    if (row.result) lines.push(`  ${"raw result".padEnd(12)} ${row.result.length} bytes: ${row.result.subarray(0, 32).toString("hex")}${row.result.length > 32 ? "…" : ""}`);
  } else {
    const meta = entry.meta;
    lines.push(...field("children", meta.children.join(", ")));
    lines.push(...field("args", meta.args === null ? null : json(meta.args)));
    lines.push(...field("kwargs", meta.kwargs === null ? null : json(meta.kwargs)));
    const result = meta.result instanceof Error ? `${(meta.result as Error & { excType?: string }).excType ?? meta.result.name}: ${meta.result.message}` : json(meta.result);
    lines.push(`  ${"result".padEnd(12)} ${result}`);
  }
  if (row.traceback) lines.push("  traceback:", ...row.traceback.split("\n").map((line) => `    ${line}`));
  return lines.join("\n");
}
