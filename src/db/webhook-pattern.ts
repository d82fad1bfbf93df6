/**
 * Task-name globs (`reports.*`, `billing.?`) as each dialect matches them in the outbox trigger:
 * compiled once when a webhook is added, so the trigger compares with a plain LIKE or GLOB and
 * nothing the user typed is ever interpreted as more than `*` and `?`.
 */

/** PostgreSQL LIKE (case-sensitive; backslash is LIKE's default escape). */
export function globToLike(glob: string): string {
  return glob
    .replace(/[\\%_]/g, (c) => `\\${c}`)
    .replace(/\*/g, "%")
    .replace(/\?/g, "_");
}

/**
 * MySQL LIKE with `!` as its escape (the outbox triggers say `ESCAPE '!'`): a backslash escape
 * would depend on the sql_mode the trigger was created under (NO_BACKSLASH_ESCAPES leaves LIKE
 * without one). The triggers compare under utf8mb4_bin, so case counts as on PostgreSQL.
 */
export function globToMysqlLike(glob: string): string {
  return glob
    .replace(/[!%_]/g, (c) => `!${c}`)
    .replace(/\*/g, "%")
    .replace(/\?/g, "_");
}

/** SQLite GLOB (case-sensitive, unlike SQLite's LIKE): a literal `[` is written as a one-character class. */
export function globToSqliteGlob(glob: string): string {
  return glob.replace(/\[/g, "[[]");
}

/** The match as the webhook list shows it. */
export function matchText(match: { kind: "all" } | { kind: "task"; taskId: string } | { kind: "name"; glob: string }): string {
  return match.kind === "all" ? "" : match.kind === "task" ? `task:${match.taskId}` : match.glob;
}
