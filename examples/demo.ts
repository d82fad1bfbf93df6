/**
 * `npm start`: the whole loop on the embedded SQLite file ./taskledger.db.
 * A worker records a success and a failure; a client reads them back; cleanup expires them.
 * It never uses TASKLEDGER_URL: its cleanup runs "two days from now" and would expire real results.
 */
import { randomUUID } from "node:crypto";
import { DEFAULT_SQLITE_FILE, openBackend } from "../src/index.js";

const backend = await openBackend({ url: DEFAULT_SQLITE_FILE, resultExtended: true, resultExpires: "1d" });
console.log(`taskledger demo on ${backend.url}\n`);
try {
  // Worker side: the broker delivered two tasks; their outcomes go to the second mailbox.
  const addId = randomUUID();
  await backend.markAsStarted(addId, null, { request: { name: "math.add", args: [2, 3], worker: "demo@localhost", queue: "default" } });
  await backend.markAsDone(addId, 5, { request: { name: "math.add", args: [2, 3], worker: "demo@localhost", queue: "default" } });

  const reportId = randomUUID();
  try {
    JSON.parse("{ not json"); // the task's own bug
  } catch (error) {
    await backend.markAsFailure(reportId, error, { request: { name: "reports.parse", kwargs: { file: "q3.json" }, worker: "demo@localhost" } });
  }

  // Client side, any time later: ask the store what happened.
  const done = await backend.getTaskMeta(addId);
  console.log(`${done.name}(${done.args?.join(", ")}) -> ${done.status} ${JSON.stringify(done.result)} at ${done.dateDone?.toISOString()}`);
  const failed = await backend.getTaskMeta(reportId);
  const error = failed.result as Error;
  console.log(`${failed.name}(${JSON.stringify(failed.kwargs)}) -> ${failed.status} ${error.name}: ${error.message}`);
  console.log(`  traceback: ${failed.traceback?.split("\n").slice(0, 2).join(" | ")}`);
  const unknown = await backend.getTaskMeta(randomUUID());
  console.log(`an id nobody stored -> ${unknown.status} (exists: ${await backend.exists(unknown.taskId)})`);

  // Operations: two days from now both results are past resultExpires (1 day) and go.
  const inTwoDays = new Date(Date.now() + 2 * 86_400_000);
  const report = await backend.cleanup({ now: inTwoDays, batchSize: 1000 });
  console.log(`\ncleanup two days later: ${report.tasks} task rows and ${report.groups} group rows deleted in ${report.durationMs} ms`);
  console.log(`${addId} now reads as ${(await backend.getTaskMeta(addId)).status}`);
} finally {
  await backend.close();
}
