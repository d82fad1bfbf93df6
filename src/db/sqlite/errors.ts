/**
 * Which SQLite failures are transient: another connection holds the write lock (SQLITE_BUSY,
 * after the busy timeout ran out) or a table is locked within this connection's cache.
 */
export function isTransientSqliteError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}
