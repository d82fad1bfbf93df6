// The worker process: pg-boss delivers the job, runTask records its life, and the invoice row and
// the SUCCESS row commit in one transaction. A failed attempt rolls its invoice back, is recorded
// as RETRY while pg-boss will retry it (FAILURE on the last attempt), and is rethrown to pg-boss.
import { runTask } from "taskledger";
import { connect, invoices, QUEUE, type InvoiceJob } from "./app.js";

const { db, boss, backend, close } = await connect(process.env["TASKLEDGER_URL"]!);

await boss.work<InvoiceJob>(QUEUE, { includeMetadata: true, pollingIntervalSeconds: 0.5 }, async ([job]) => {
  const request = { id: job!.id, name: QUEUE, args: [job!.data], retries: job!.retryCount, queue: QUEUE };
  const outcome = await runTask(
    backend,
    request,
    async (ctx) => {
      try {
        await ctx.tx.insert(invoices).values({ orderId: job!.data.orderId, cents: job!.data.cents });
        if (job!.data.flakyProvider && job!.retryCount === 0) throw new Error("payment provider timed out");
        return { orderId: job!.data.orderId, cents: job!.data.cents };
      } catch (error) {
        if (job!.retryCount < job!.retryLimit) ctx.retry({ reason: error }); // pg-boss will try again
        throw error;
      }
    },
    { transactionOn: db },
  );
  if (outcome.status === "RETRY" || outcome.status === "FAILURE") throw outcome.error; // pg-boss: failed
});

console.log("worker ready");
process.once("SIGTERM", () => void close());
