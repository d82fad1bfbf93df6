/**
 * `backend-cleanup --explain`: for each task, the retention rule that governs its row, and
 * when cleanup will delete it. Decided by the same ranked rules the deletes use (./retention.ts).
 */
import type { Driver } from "../db/driver.js";
import type { RetentionExplanation } from "../types.js";
import { resolveExpires } from "../config.js";
import { buildPolicy, governingRule } from "./retention.js";
import type { CleanupOptions } from "./cleaner.js";

export async function explainRetention(
  driver: Driver,
  defaultExpiresMs: number | null,
  taskIds: readonly string[],
  options: Pick<CleanupOptions, "expires" | "keep" | "rules" | "customStates">,
  retrying: <T>(operation: string, attempt: () => Promise<T>) => Promise<T>,
): Promise<RetentionExplanation[]> {
  const expiresMs = options.expires === undefined ? defaultExpiresMs : resolveExpires(options.expires, "expires");
  const ranked = buildPolicy(expiresMs, options.keep, options.rules, options.customStates);
  const rows = new Map((await retrying("explain", () => driver.taskGetMany(taskIds))).map((row) => [row.taskId, row]));
  const holds = new Map((await retrying("explain", () => driver.taskHolds(taskIds))).map((hold) => [hold.taskId, hold]));
  return taskIds.map((taskId) => {
    const row = rows.get(taskId);
    const hold = holds.get(taskId) ?? null;
    if (!row) return { taskId, exists: false, status: null, rule: null, keepMs: null, deleteAfter: null, held: hold };
    const rule = governingRule(ranked, row);
    const deleteAfter = hold || rule.keepMs === null || row.dateDone === null ? null : new Date(row.dateDone.getTime() + rule.keepMs);
    return { taskId, exists: true, status: row.status, rule: rule.label, keepMs: rule.keepMs, deleteAfter, held: hold };
  });
}
