/** `taskledger forget <task-id...>`: delete stored results. */
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";

export async function run(taskIds: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const forgotten = await backend.forget(taskIds);
    if (deps.json) deps.out.out(JSON.stringify({ requested: taskIds.length, forgotten }));
    else
      deps.out.out(
        `forgot ${forgotten} of ${taskIds.length} task${taskIds.length === 1 ? "" : "s"}${forgotten < taskIds.length ? ` (${taskIds.length - forgotten} had no row)` : ""}`,
      );
    return EXIT.OK;
  });
}
