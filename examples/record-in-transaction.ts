import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import pg from "pg";
import { AsyncResult, openBackend } from "taskledger";
import { migrate, pgTables } from "taskledger/drizzle";

// The application's own pool, drizzle database and table.
const pool = new pg.Pool({ connectionString: process.env["TASKLEDGER_URL"] });
const db = drizzle(pool);
const orders = pgTable("orders", { id: text("id").primaryKey(), total: integer("total").notNull() });
await pool.query("CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY, total integer NOT NULL)");

await migrate({ client: pool }); // at deploy time; openBackend() would also do it
const backend = await openBackend({ client: db, migrate: false });
const { task } = pgTables();

// The worker: the business effect and the task's result commit together, or not at all.
const taskId = randomUUID();
const receipt = new AsyncResult<{ total: number }>(taskId, backend);
await db.transaction(async (tx) => {
  await tx.insert(orders).values({ id: taskId, total: 42 });
  await backend.inTransaction(tx).markAsDone(taskId, { total: 42 });
});

// The client: wait, then join the application's rows to their results in one drizzle query.
console.log(await receipt.get({ timeout: 10_000 })); // { total: 42 }
const [row] = await db
  .select({ total: orders.total, status: task.status, result: task.result, doneAt: task.dateDone })
  .from(orders)
  .innerJoin(task, eq(task.taskId, orders.id))
  .where(eq(orders.id, taskId));
console.log(row!.total, row!.status, row!.result, row!.doneAt instanceof Date); // 42 SUCCESS { total: 42 } true

await backend.close(); // the pool stays open: it is the application's
await pool.end();
