// The client: enqueue, wait for the outcome, and read what the audit trail says about it.
import { connect, QUEUE } from "./app.js";
import { requestInvoice } from "./producer.js";

const { boss, backend, pool, close } = await connect(process.env["TASKLEDGER_URL"]!);

const steady = await requestInvoice(boss, backend, { orderId: "o-1", cents: 1200 });
const flaky = await requestInvoice(boss, backend, { orderId: "o-2", cents: 900, flakyProvider: true });
console.log(await steady.get({ timeout: 30_000 })); // { orderId: 'o-1', cents: 1200 }
console.log(await flaky.get({ timeout: 30_000 })); // { orderId: 'o-2', cents: 900 }

for (const receipt of [steady, flaky]) {
  const meta = await backend.getTaskMeta(receipt.id); // what taskledger recorded
  const job = await boss.getJobById(QUEUE, receipt.id); // what pg-boss recorded
  console.log(meta.status, meta.name, "attempt", (meta.retries ?? 0) + 1, "pg-boss retries", job?.retryCount);
}
console.log(await backend.audit.count({ queues: [QUEUE], states: ["SUCCESS"] }), "invoices done"); // 2 invoices done
const { rows } = await pool.query("SELECT order_id, cents FROM invoices ORDER BY order_id");
console.log(rows.map((r) => `${r.order_id}:${r.cents}`).join(" ")); // one invoice each: o-1:1200 o-2:900
await close();
