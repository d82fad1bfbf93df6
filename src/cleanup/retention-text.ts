/**
 * The one sentence that says what a cleanup keeps ("results newer than 7d, FAILURE newer than 90d,
 * unready rows"), shared by the CLI's log lines and the cleanup job's onRun.
 */
import type { CleanupOptions } from "./cleaner.js";
import { validateRule } from "./retention.js";
import { readCustomStates } from "./rule-states.js";

export { durationText } from "./duration-text.js";

/** `expires` as given (or the backend default as text), null when results never expire. */
export function describeRetention(expires: string | null, cleanup: CleanupOptions): string {
  const parts = [expires === null ? "all results (no expiry)" : `results newer than ${expires}`];
  for (const [state, value] of Object.entries(cleanup.keep ?? {}))
    parts.push(value === null ? `${state} forever` : `${state} newer than ${value}`);
  for (const [i, raw] of (cleanup.rules ?? []).entries()) {
    const rule = validateRule(raw, `rules[${i}]`, readCustomStates(cleanup.customStates, "customStates"));
    const criteria = rule.label.slice(0, rule.label.lastIndexOf("="));
    const who = rule.states && rule.name === undefined && rule.queue === undefined ? rule.states.join("|") : criteria;
    parts.push(rule.keepMs === null ? `${who} forever` : `${who} newer than ${String(raw.keep)}`);
  }
  parts.push(cleanup.staleAfter == null ? "unready rows" : `unready rows written within ${cleanup.staleAfter}`);
  return parts.join(", ");
}
