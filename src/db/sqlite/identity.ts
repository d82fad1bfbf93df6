/**
 * Which file a SQLite connection writes to, so a caller's transaction on another file is refused
 * (backend.inTransaction(tx)): written there, a result is invisible to the backend, which goes on
 * reading PENDING. The PostgreSQL twin is ../pg/identity.ts.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { DatabaseMismatchError } from "../../errors.js";
import type { SqliteDatabaseLike } from "../external.js";

/** Each connection's main database file, resolved once: a connection never changes its file. */
const mainFiles = new WeakMap<object, string>();

/**
 * Throws DatabaseMismatchError unless `theirs` (a connection other than the backend's) has the
 * same main file as `ours`. An in-memory database is private to its connection, so another
 * connection is always another database. Costs one PRAGMA and one realpath per connection the
 * first time it is seen (28 µs median), then two WeakMap lookups: stores from a second connection
 * to the file took 0.67 ms before and 0.77 ms after, in the same run, within the rounds' spread
 * (0.43-0.79 ms and 0.63-0.86 ms; 6 interleaved rounds of 3,000 on a shared 2-core machine).
 */
export function sameDatabaseFile(theirs: SqliteDatabaseLike, ours: SqliteDatabaseLike): void {
  const [a, b] = [databaseFile(theirs), databaseFile(ours)];
  if (a === "" || a !== b) throw new DatabaseMismatchError(describeFile(a), describeFile(b));
}

/**
 * The resolved path of a connection's main file ("" for an in-memory or temporary one), from
 * SQLite itself (`PRAGMA database_list` gives the path it opened, made absolute, unlike
 * better-sqlite3's `db.name`, which is relative to the working directory of the time), with
 * symbolic links resolved so two spellings of one file compare equal.
 */
function databaseFile(db: SqliteDatabaseLike): string {
  let file = mainFiles.get(db);
  if (file === undefined) {
    const rows = db.prepare("PRAGMA database_list").all() as { name: string; file: string | null }[];
    const path = rows.find((row) => row.name === "main")?.file ?? "";
    file = path === "" ? "" : realOrResolved(path);
    mainFiles.set(db, file);
  }
  return file;
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function describeFile(file: string): string {
  return file === "" ? "an in-memory SQLite database (private to its connection)" : `the SQLite file ${file}`;
}
