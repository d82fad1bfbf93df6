import { openBackend, states } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"], resultExpires: "7d", resultExtended: true });
const request = { name: "reports.generate", args: [42], kwargs: { format: "pdf" }, worker: "w1", queue: "reports" };
await backend.markAsStarted("r-42", { pid: process.pid }, { request }); // also markAsDone / markAsFailure / markAsRetry / markAsRevoked
await backend.storeResult("r-42", { pages: 12 }, states.SUCCESS, { request, traceback: null });
const finished = [
  { id: "r-43", value: 1 },
  { id: "r-44", value: 2 },
];
await backend.storeMany(finished.map((r) => ({ taskId: r.id, status: states.SUCCESS, result: r.value }))); // one statement

const meta = await backend.getTaskMeta("r-42"); // { status, result, traceback, dateDone, name, args, kwargs, worker, ... }
console.log(meta.status, meta.result, meta.name, meta.args); // SUCCESS { pages: 12 } reports.generate [ 42 ]
const metas = await backend.getManyTaskMeta(["r-42", "r-43", "unknown"]); // one query; id -> meta (or CorruptValueError)
console.log([...metas.values()].map((m) => (m instanceof Error ? m.message : m.status))); // [ 'SUCCESS', 'SUCCESS', 'PENDING' ]
console.log(await backend.exists("unknown")); // false

await backend.saveGroup("batch-7", ["r-43", "r-44"]); // restoreGroup -> { groupId, results, dateDone } | null; deleteGroup
console.log((await backend.restoreGroup("batch-7"))?.results); // [ 'r-43', 'r-44' ]
await backend.forget("r-44");
const { tasks, groups } = await backend.cleanup(); // batched; see "Cleanup"
console.log(tasks, groups); // 0 0: nothing is older than 7 days yet
await backend.close();
