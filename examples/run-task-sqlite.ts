import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { openBackend, runTask, SynchronousTransactionError } from "taskledger";

const sqlite = new Database(process.env["TASKLEDGER_URL"]!.replace(/^sqlite:/, ""));
sqlite.pragma("journal_mode = WAL");
const db = drizzle(sqlite);
const orders = sqliteTable("orders", { id: text("id").primaryKey(), total: integer("total").notNull() });
sqlite.exec("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)");
const backend = await openBackend({ client: db });

// A synchronous task function: its insert and its SUCCESS row commit in one transaction.
const taskId = randomUUID();
const outcome = await runTask(
  backend,
  { id: taskId, name: "orders.invoice" },
  (ctx) => {
    ctx.tx.insert(orders).values({ id: taskId, total: 42 }).run();
    return { total: 42 };
  },
  { transactionOn: db },
);
console.log(outcome.status, (await backend.getTaskMeta(taskId)).result); // SUCCESS { total: 42 }

// An async one cannot run inside better-sqlite3's transaction: refused, and nothing recorded.
const later = randomUUID();
try {
  await runTask(backend, { id: later }, async () => 1, { transactionOn: db });
} catch (error) {
  console.log(error instanceof SynchronousTransactionError, (await backend.getTaskMeta(later)).status); // true PENDING
}

await backend.close();
sqlite.close();
