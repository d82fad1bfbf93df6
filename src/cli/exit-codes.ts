/**
 * The CLI's exit codes, documented in the README ("Running cleanup from cron"), and the mapping
 * from an error to its message and exit code.
 */
import { CleanupLockedError, ConfigError, DatabaseError, MigrationError, TaskledgerError } from "../errors.js";
import type { Output } from "./output.js";

export const EXIT = {
  /** Done. */
  OK: 0,
  /** Something failed (an error, pending migrations under --check, an id not found). */
  FAILURE: 1,
  /** The command line was wrong (unknown option, bad duration, bad URL). */
  USAGE: 2,
  /** backend-cleanup did not run: another cleanup holds the lock on this database. */
  LOCKED: 3,
} as const;

/** Prints an error the way every command does and returns the exit code it deserves. */
export function reportError(error: unknown, out: Output): number {
  if (error instanceof CleanupLockedError) {
    out.err(`taskledger: ${error.message}`);
    return EXIT.LOCKED;
  }
  if (error instanceof ConfigError) {
    out.err(`taskledger: ${error.message}`);
    return EXIT.USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  const missing = /does not exist|no such table|no column named|no such column/i.test(message)
    ? " (tables missing, or created by Celery and not adopted yet? run `taskledger migrate` first)"
    : "";
  const known = error instanceof TaskledgerError || error instanceof DatabaseError || error instanceof MigrationError;
  out.err(`taskledger: ${known ? message : `unexpected error: ${message}`}${missing}`);
  return EXIT.FAILURE;
}
