/**
 * The precedence guard as SQL, written once for every dialect's statements and generated from
 * states.ts (mayReplace is the same rule in memory): an unready state never replaces a ready row,
 * a ready state replaces one only when the write allows it, and PENDING (a producer's
 * markAsSent) never replaces a row a worker already moved on.
 */
import { isReady, PENDING } from "../states.js";
import { READY_SQL, stateSql } from "./state-sql.js";

/**
 * Whether a write of `incoming` may replace a row whose status is `current` (an SQL expression
 * that is NULL when there is no row: then it may). `replaceReady` is an SQL boolean.
 */
export function precedenceGuard(current: string, incoming: string, replaceReady: string): string {
  return `((${current} IS NULL OR ${current} NOT IN ${READY_SQL} OR (${incoming} IN ${READY_SQL} AND ${replaceReady}))
    AND (${incoming} <> ${stateSql(PENDING)} OR ${current} IS NULL OR ${current} = ${stateSql(PENDING)}))`;
}

/**
 * precedenceGuard in memory, with the same replaceReady rule: whether a write of `incoming` may
 * replace a row whose status is `current` (null: no row). The Citus profile judges a write by an
 * archived row here (pg/task-writes.ts), between the statements that read and replace it.
 */
export function precedenceAllows(current: string | null, incoming: string, replaceReady: boolean): boolean {
  if (incoming === PENDING && current !== null && current !== PENDING) return false;
  return current === null || !isReady(current) || (isReady(incoming) && replaceReady);
}
