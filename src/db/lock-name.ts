/**
 * Named locks' names, checked once for every dialect: a name becomes part of an advisory-lock key
 * (PostgreSQL), a lease row's key (SQLite) or a GET_LOCK name (MySQL, at most 64 characters).
 */
import { TaskledgerError } from "../errors.js";
import type { LockName } from "./types.js";

const LOCK_NAME = /^[a-z][a-z0-9.-]{0,39}$/;

/** The name, once checked; SQLite's lease rows are keyed by it as it is (the lock table is taskledger's own). */
export function checkedLockName(name: LockName): LockName {
  if (!LOCK_NAME.test(name))
    throw new TaskledgerError(`lock name ${JSON.stringify(name)}: use lower-case letters, digits, dots and dashes (at most 40)`);
  return name;
}

/** The key a server-wide lock takes: `taskledger.<name>`, so another application's locks never collide. */
export function lockKey(name: LockName): string {
  return `taskledger.${checkedLockName(name)}`;
}
