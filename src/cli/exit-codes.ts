/** The CLI's exit codes, documented in the README ("Running cleanup from cron"). */
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
