import { randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { AsyncResult, openBackend } from "taskledger";
import { sqliteTables } from "taskledger/drizzle";

// The application's own connection, drizzle database and table.
const sqlite = new Database(process.env["TASKLEDGER_URL"]!.replace(/^sqlite:/, ""));
sqlite.pragma("journal_mode = WAL");
const db = drizzle(sqlite);
const orders = sqliteTable("orders", { id: text("id").primaryKey(), total: integer("total").notNull() });
sqlite.exec("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)");

const backend = await openBackend({ client: db }); // migrates through the same connection
const { task } = sqliteTables();

// better-sqlite3 transactions are synchronous: the writer runs its statement before it returns,
// and nothing else can run on the connection until this function has committed.
const taskId = randomUUID();
const receipt = new AsyncResult<{ total: number }>(taskId, backend);
db.transaction((tx) => {
  tx.insert(orders).values({ id: taskId, total: 42 }).run();
  void backend.inTransaction(tx).markAsDone(taskId, { total: 42 });
});

console.log(await receipt.get({ timeout: 10_000 })); // { total: 42 }
const row = db
  .select({ total: orders.total, status: task.status, result: task.result, doneAt: task.dateDone })
  .from(orders)
  .innerJoin(task, eq(task.taskId, orders.id))
  .where(eq(orders.id, taskId))
  .get();
console.log(row!.total, row!.status, row!.result, row!.doneAt instanceof Date); // 42 SUCCESS { total: 42 } true

await backend.close(); // the connection stays open: it is the application's
sqlite.close();
