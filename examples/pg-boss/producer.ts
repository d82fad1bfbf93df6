// The producer: the job's id is the task id, so the receipt is an AsyncResult for it.
import { randomUUID } from "node:crypto";
import type PgBoss from "pg-boss";
import { AsyncResult, type DatabaseBackend } from "taskledger";
import { QUEUE, type InvoiceJob } from "./app.js";

export async function requestInvoice(boss: PgBoss, backend: DatabaseBackend, job: InvoiceJob) {
  const taskId = randomUUID(); // pg-boss job ids are UUIDs
  await boss.send(QUEUE, job, { id: taskId });
  return new AsyncResult<{ orderId: string; cents: number }>(taskId, backend);
}
