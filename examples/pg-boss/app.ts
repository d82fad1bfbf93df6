// What the producer, the worker and the client share: one PostgreSQL database holds the
// application's tables, pg-boss's queue (schema "pgboss") and taskledger's results.
import { drizzle } from "drizzle-orm/node-postgres";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import pg from "pg";
import PgBoss from "pg-boss";
import { openBackend } from "taskledger";

export const QUEUE = "invoices.create";
export const invoices = pgTable("invoices", { orderId: text("order_id").primaryKey(), cents: integer("cents").notNull() });
export interface InvoiceJob {
  orderId: string;
  cents: number;
  flakyProvider?: boolean;
}

export async function connect(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  const db = drizzle(pool);
  const boss = new PgBoss({ connectionString: url, max: 2 });
  boss.on("error", (error) => console.error("pg-boss:", error.message));
  await boss.start();
  // pg-boss retries a failed job once, at once; taskledger records each attempt.
  await boss.createQueue(QUEUE, { name: QUEUE, retryLimit: 1, retryDelay: 0 });
  const backend = await openBackend({ client: pool, resultExtended: true });
  await pool.query("CREATE TABLE IF NOT EXISTS invoices (order_id text PRIMARY KEY, cents integer NOT NULL)");
  const close = async () => {
    await boss.stop({ graceful: true, close: true, wait: true });
    await backend.close(); // leaves the pool open: it is the application's
    await pool.end();
  };
  return { pool, db, boss, backend, close };
}
