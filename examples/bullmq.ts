// A Redis queue (BullMQ) with its audit trail in SQL: the job id is the task id, the worker
// records each attempt through runTask, and the client waits on the database, not on Redis.
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { AsyncResult, openBackend, runTask } from "taskledger";

const connection = { host: "127.0.0.1", port: 6379 };
const name = `reports-${randomUUID()}`; // one queue per run keeps the example repeatable
const backend = await openBackend({ url: process.env["TASKLEDGER_URL"], resultExtended: true });
const queue = new Queue(name, { connection });

const worker = new Worker(
  name,
  async (job) => {
    const outcome = await runTask(
      backend,
      { id: job.id!, name: job.name, args: [job.data], retries: job.attemptsMade, queue: name },
      (ctx) => {
        if (job.attemptsMade === 0) ctx.retry({ reason: new Error("renderer busy") }); // BullMQ tries again
        return { pages: job.data.pages };
      },
    );
    if (outcome.status === "RETRY" || outcome.status === "FAILURE") throw outcome.error;
  },
  { connection },
);

// Producer: the receipt is an AsyncResult for the job's own id.
const taskId = randomUUID();
await queue.add("reports.render", { pages: 12 }, { jobId: taskId, attempts: 2 });
const receipt = new AsyncResult<{ pages: number }>(taskId, backend);

console.log(await receipt.get({ timeout: 30_000 })); // { pages: 12 }
const meta = await backend.getTaskMeta(taskId);
console.log(meta.status, meta.name, "attempt", (meta.retries ?? 0) + 1); // SUCCESS reports.render attempt 2

await worker.close();
await queue.obliterate({ force: true });
await queue.close();
await backend.close();
