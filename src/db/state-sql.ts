/**
 * Task states as SQL literals, generated from states.ts for every dialect's statements, so a
 * state set changed there changes the SQL too (test/rules.test.ts checks both, and that the
 * migrations, which cannot follow by themselves, still agree).
 */
import { READY_STATES } from "../states.js";

/** States are fixed names from states.ts or a rule's validated name, never free text: anything else is a bug. */
const STATE_NAME = /^[A-Z_]{1,50}$/;

/** One state as an SQL string literal: `'FAILURE'`. */
export function stateSql(state: string): string {
  if (!STATE_NAME.test(state)) throw new Error(`"${state}" is not a state name to spell in SQL`);
  return `'${state}'`;
}

/** A set of states as an SQL list: `('SUCCESS', 'FAILURE', 'REVOKED')`. */
export function stateListSql(states: Iterable<string>): string {
  return `(${[...states].map(stateSql).join(", ")})`;
}

/** The ready (finished) states as an SQL list, for `status IN …`. */
export const READY_SQL = stateListSql(READY_STATES);
