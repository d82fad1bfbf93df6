import { createServer } from "node:http";
import { openBackend } from "taskledger";

// An application serving requests; its backend deletes expired results on its own schedule.
const backend = await openBackend({
  url: process.env["TASKLEDGER_URL"],
  resultExpires: "7d",
  cleanupJob: {
    every: "1h", // hourly, each run ± 6 min at random
    firstRunWithin: "1s", // the first run at a random point within a second of starting (default 5 s)
    keep: { FAILURE: "90d" }, // any backend.cleanup() option passes through
    onRun: ({ deleted, skipped, took }) => {
      console.log(skipped ? "cleanup skipped: another instance is running it" : `cleanup deleted ${deleted} rows in ${took} ms`);
      void shutdown(); // this example stops after the first run
    },
    onError: (error) => console.error(`cleanup failed, trying again at the next tick: ${error.message}`),
  },
});
const server = createServer((req, res) => void backend.getTaskMeta(req.url!.slice(1)).then((meta) => res.end(JSON.stringify(meta)))).listen(
  0,
);

async function shutdown() {
  server.close();
  await backend.close(); // stops the job; a run in progress first finishes its batch
}
