/**
 * Fills a SQLite template in a process of its own (better-sqlite3 blocks its thread), so
 * several templates fill in parallel with PostgreSQL's. Prints "done" when the file is closed.
 * argv: file kind live expired
 */
import { fillSqlite, type TableKind } from "../fill.js";

const [file, kind, live, expired] = process.argv.slice(2);
await fillSqlite(file!, kind as TableKind, { live: Number(live), expired: Number(expired) });
process.stdout.write("done\n");
