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
  // A missing table or column is MissingTablesError / MissingColumnError by now (each dialect's
  // interpretError), whose message says to migrate: nothing here reads the database's words.
  const message = error instanceof Error ? error.message : String(error);
  const known = error instanceof TaskledgerError || error instanceof DatabaseError || error instanceof MigrationError;
  out.err(`taskledger: ${known ? message : `unexpected error: ${message}`}`);
  return EXIT.FAILURE;
}
