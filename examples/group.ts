import { GroupResult, openBackend, states } from "taskledger";

const backend = await openBackend({ url: process.env["TASKLEDGER_URL"] });
const group = new GroupResult("nightly-2026-11-21", ["n-1", "n-2", "n-3"], backend);
await group.save(); // stored in celery_tasksetmeta, restorable from any process

// Workers finish the members in bursts.
await backend.storeMany(group.results.map((r, i) => ({ taskId: r.id, status: states.SUCCESS, result: i * 10 })));

const restored = await GroupResult.restore("nightly-2026-11-21", backend);
console.log(await restored!.join({ timeout: 60_000 })); // [ 0, 10, 20 ]: one query per poll for all members
console.log(await restored!.completedCount()); // 3
await backend.close();
