import { randomUUID } from "node:crypto";
import { AsyncResult, openBackend, runTask } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"], resultExtended: true });

// Producer: choose the id, send it with the job through your broker, keep the receipt.
const taskId = randomUUID();
const queue = [{ id: taskId, name: "math.add", args: [2, 3] }]; // stands in for your broker
const receipt = new AsyncResult<number>(taskId, backend);

// Worker (usually another process): run the job and record its life.
const job = queue.shift()!;
setTimeout(() => void runTask(backend, job, ({ request }) => (request.args as number[])[0]! + (request.args as number[])[1]!), 50);

// Client: wait for the outcome; a failure is rethrown, a timeout is a TimeoutError.
const sum = await receipt.get({ timeout: 10_000 });
console.log(`${job.name} ->`, sum); // math.add -> 5
await backend.close();
