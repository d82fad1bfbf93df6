/**
 * How taskledger writes a duration, in two forms. A configured duration (a retention, a rule's
 * keep, the catch-all's `default=7d`) is printed exactly, in the form `--keep` and `--expires`
 * read back, so a label can be pasted into a command. A measured time (a run, a gap between
 * history events, an ETA) is rounded for reading.
 */

/** Largest first; no weeks, so a week is "7d" as users write it and 28 days is "28d", not "4w". */
const UNITS: readonly (readonly [unit: string, ms: number])[] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** A configured duration in the largest unit that divides it ("1d", "36h", "90m"), else milliseconds ("1500ms"). */
export function durationText(ms: number): string {
  for (const [unit, size] of UNITS) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A measured time, rounded: "740 ms", "2.5 s", "3 min 4 s". */
export function elapsedText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}
