/**
 * The one sentence that says what a cleanup keeps ("results newer than 7d, FAILURE newer than 90d,
 * unready rows"), shared by the CLI's log lines and the cleanup job's onRun.
 */
import type { CleanupOptions } from "./cleaner.js";
import { validateRule } from "./retention.js";
import { readCustomStates } from "./rule-states.js";

const UNITS: [string, number][] = [
  ["w", 604_800_000],
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** A whole number of milliseconds in the largest unit that divides it ("1d", "36h"), else "N ms". */
export function durationText(ms: number): string {
  for (const [unit, size] of UNITS) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms} ms`;
}

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
