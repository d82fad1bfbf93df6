/**
 * The state names a retention rule may use. A rule naming a state no row can hold matches
 * nothing, so a typo such as FAILED for FAILURE silently hands failures to the default retention
 * and deletes them early. Rules therefore take Celery's states, plus custom states the caller
 * declares (customStates in the library and a policy file, --custom-state on the command line).
 */
import { ConfigError } from "../errors.js";
import { ALL_STATES, REJECTED } from "../states.js";

/** What a state in a rule looks like (uppercased before use, as the rules compare them). */
const STATE_NAME = /^[A-Za-z_]{1,50}$/;

/** The states a stored row can hold: Celery's ALL_STATES and REJECTED. IGNORED is never stored. */
export const RULE_STATES: readonly string[] = [...ALL_STATES, REJECTED];

/**
 * Reads a list of custom state names (`where` names the option or file in errors): each a name
 * like PROGRESS, uppercased.
 */
export function readCustomStates(raw: unknown, where: string): string[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.some((s) => typeof s !== "string" || !STATE_NAME.test(s)))
    throw new ConfigError(where, `custom states are a list of names of letters and _ like ["PROGRESS"], got ${JSON.stringify(raw)}`);
  return (raw as string[]).map((s) => s.toUpperCase());
}

/**
 * Throws a ConfigError naming `where` for the first state that is neither one of RULE_STATES nor
 * declared in `custom`, suggesting the closest known name when one is close.
 */
export function checkRuleStates(states: readonly string[], custom: readonly string[], where: string): void {
  const known = [...RULE_STATES, ...custom];
  const unknown = states.find((state) => !known.includes(state));
  if (unknown === undefined) return;
  const near = closest(unknown, known);
  throw new ConfigError(
    where,
    `"${unknown}" is not a task state${near ? `; did you mean ${near}?` : "."} States are ${RULE_STATES.join(", ")}${
      custom.length > 0 ? `, and the custom ${custom.join(", ")}` : ""
    }. If your tasks store a custom state ${unknown}, declare it: --custom-state ${unknown}, "customStates": ["${unknown}"] in a policy file, or the customStates cleanup option`,
  );
}

/** The candidate nearest to `name` by edit distance, if within half the longer name's length. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance && distance <= Math.floor(Math.max(name.length, candidate.length) / 2)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
