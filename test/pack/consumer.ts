// A library user's program, compiled against the packed tarball with strict and without
// skipLibCheck: it must type-check and run with nothing but taskledger, its
// dependencies and @types/node installed.
import { randomUUID } from "node:crypto";
import { AsyncResult, GroupResult, openBackend, runTask, states, TimeoutError, type TaskMeta } from "taskledger";

const backend = await openBackend({ url: process.argv[2]!, createIfMissing: true, resultExtended: true });
const taskId = randomUUID();
const receipt = new AsyncResult<number>(taskId, backend);
await runTask(backend, { id: taskId, name: "math.add", args: [2, 3] }, ({ request }) => {
  const [a, b] = request.args as [number, number];
  return a + b;
});
const sum: number = await receipt.get({ timeout: 5_000 });

const group = new GroupResult(randomUUID(), [receipt], backend);
await group.save();
const restored = await GroupResult.restore(group.id, backend);

const meta: TaskMeta = await backend.getTaskMeta(taskId);
const late = new AsyncResult(randomUUID(), backend);
const timedOut = await late.get({ timeout: 50 }).then(
  () => false,
  (error: unknown) => error instanceof TimeoutError,
);
const report = await backend.cleanup({ expires: "30d" });
await backend.close();
console.log(
  JSON.stringify({ sum, status: meta.status === states.SUCCESS, restored: restored?.results.length, timedOut, dryRun: report.dryRun }),
);
