/** `taskledger hold <task-id...>` / `release <task-id...>`: legal holds. */
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";

export interface HoldOptions {
  reason?: string;
}

export async function hold(taskIds: string[], options: HoldOptions, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const placed = await backend.hold(taskIds, { reason: options.reason ?? null });
    const unique = new Set(taskIds).size;
    if (deps.json) deps.out.out(JSON.stringify({ requested: unique, held: placed, alreadyHeld: unique - placed }));
    else
      deps.out.out(
        `held ${placed} task${placed === 1 ? "" : "s"}${placed < unique ? ` (${unique - placed} already held)` : ""}; their rows survive every retention rule until released`,
      );
    return EXIT.OK;
  });
}

export async function release(taskIds: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const released = await backend.release(taskIds);
    const unique = new Set(taskIds).size;
    if (deps.json) deps.out.out(JSON.stringify({ requested: unique, released }));
    else
      deps.out.out(
        `released ${released} of ${unique} task${unique === 1 ? "" : "s"}${released < unique ? ` (${unique - released} were not held)` : ""}`,
      );
    return EXIT.OK;
  });
}
