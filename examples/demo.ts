/**
 * `npm start`: the whole loop on the embedded SQLite file ./taskledger.db. A worker records a
 * success and a failure, a client reads them back, cleanup expires last week's results, and the
 * CLI's `list` and `stats` show what is kept. It never uses TASKLEDGER_URL: its cleanup would
 * expire real results there.
 */
import { randomUUID } from "node:crypto";
import { DEFAULT_SQLITE_FILE, openBackend, runTask, states } from "../src/index.js";
import { processOutput } from "../src/cli/output.js";
import { buildProgram } from "../src/cli/program.js";

const backend = await openBackend({ url: DEFAULT_SQLITE_FILE, resultExtended: true, resultExpires: "1d" });
console.log(`taskledger demo on ${backend.url}\n`);
try {
  // Worker side: the broker delivered two tasks; their outcomes go to the second mailbox.
  const addId = randomUUID();
  await runTask(
    backend,
    { id: addId, name: "math.add", args: [2, 3], worker: "demo@localhost", queue: "default" },
    ({ request }) => {
      const [a, b] = request.args as number[];
      return a! + b!;
    },
    { trackStarted: true },
  );
  const reportId = randomUUID();
  await runTask(
    backend,
    { id: reportId, name: "reports.parse", kwargs: { file: "q3.json" }, worker: "demo@localhost", queue: "reports" },
    () => JSON.parse("{ not json"),
  );
  // Results from last week, which resultExpires (1 day) no longer keeps.
  const lastWeek = new Date(Date.now() - 7 * 86_400_000);
  await backend.storeMany(
    Array.from({ length: 3 }, (_, i) => ({
      taskId: randomUUID(),
      status: states.SUCCESS,
      result: i,
      request: { name: "old.task", worker: "demo@localhost" },
    })),
    { now: lastWeek },
  );

  // Client side, any time later: ask the store what happened.
  const done = await backend.getTaskMeta(addId);
  console.log(`${done.name}(${done.args?.join(", ")}) -> ${done.status} ${JSON.stringify(done.result)} at ${done.dateDone?.toISOString()}`);
  const failed = await backend.getTaskMeta(reportId);
  const error = failed.result as Error;
  console.log(`${failed.name}(${JSON.stringify(failed.kwargs)}) -> ${failed.status} ${error.name}: ${error.message}`);
  console.log(`  traceback: ${failed.traceback?.split("\n").slice(0, 2).join(" | ")}`);
  const unknown = await backend.getTaskMeta(randomUUID());
  console.log(`an id nobody stored -> ${unknown.status} (exists: ${await backend.exists(unknown.taskId)})`);

  // Operations: what cron runs nightly.
  const report = await backend.cleanup({ batchSize: 1000 });
  console.log(`\ncleanup: ${report.tasks} expired task rows deleted in ${report.durationMs} ms\n`);
} finally {
  await backend.close();
}

// Auditing: the CLI's view of the same file.
const cli = buildProgram(processOutput());
console.log("$ taskledger list --limit 5");
await cli.run(["--url", DEFAULT_SQLITE_FILE, "list", "--limit", "5"]);
console.log("\n$ taskledger stats");
await cli.run(["--url", DEFAULT_SQLITE_FILE, "stats", "--top", "5"]);
