import { AsyncResult, openBackend, states } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"] });
await backend.markAsFailure("report-2026-11", new RangeError("quarter out of range"));

// Any time later, any process: look a task up by its id, without waiting.
const result = new AsyncResult("report-2026-11", backend);
if (await result.ready()) {
  const state = await result.state();
  const outcome = await result.get({ propagate: false }); // the rebuilt error instead of a throw
  console.log(state, outcome instanceof RangeError, state === states.FAILURE); // FAILURE true true
  console.log((await result.traceback())?.split("\n")[0]); // RangeError: quarter out of range
}
console.log(await new AsyncResult("never-stored", backend).state()); // PENDING
await backend.close();
