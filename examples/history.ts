import { AsyncResult, openBackend } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"], resultExtended: true });

// Producer: record when the task was sent, so its queue time is known.
await backend.markAsSent("import-7", { name: "csv.import", queue: "imports" });

// Worker: the first attempt fails and asks for a retry; the second succeeds on another worker.
const request = { name: "csv.import", queue: "imports", worker: "w1", retries: 0 };
await backend.markAsStarted("import-7", null, { request });
await backend.markAsRetry("import-7", new Error("database busy"), { request });
await backend.markAsStarted("import-7", null, { request: { ...request, worker: "w2", retries: 1 } });
await backend.markAsDone("import-7", { rows: 1200 }, { request: { ...request, worker: "w2", retries: 1 } });

// Anyone, later: every change of state, oldest first (Celery's writes are recorded too).
for (const event of await new AsyncResult("import-7", backend).history()) {
  console.log(event.status, event.worker ?? "-", event.error?.message ?? "");
}
// PENDING - / STARTED w1 / RETRY w1 database busy / STARTED w2 / SUCCESS w2
await backend.close();
