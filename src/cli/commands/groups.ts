/** `taskledger groups show <group-id>`: a saved group and the state of each member (one query). */
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";
import { isoTime, table } from "../format.js";

export async function show(groupId: string, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const group = await backend.restoreGroup(groupId);
    if (!group) {
      if (deps.json) deps.out.out(JSON.stringify({ group_id: groupId, exists: false }));
      else deps.out.err(`taskledger: no saved group ${groupId}`);
      return EXIT.FAILURE;
    }
    const metas = await backend.getManyTaskMeta(group.results);
    const members = group.results.map((id) => {
      const meta = metas.get(id)!;
      return meta instanceof Error
        ? { task_id: id, status: null, date_done: null, error: meta.message }
        : { task_id: id, status: meta.status, date_done: meta.dateDone?.toISOString() ?? null, error: null };
    });
    if (deps.json) {
      deps.out.out(JSON.stringify({ group_id: groupId, date_done: group.dateDone?.toISOString() ?? null, members }, null, 2));
    } else {
      const counts = new Map<string, number>();
      for (const m of members) counts.set(m.status ?? "UNDECODABLE", (counts.get(m.status ?? "UNDECODABLE") ?? 0) + 1);
      deps.out.out(
        `group ${groupId}, saved ${isoTime(group.dateDone)}: ${members.length} members (${[...counts].map(([s, n]) => `${n} ${s}`).join(", ")})\n`,
      );
      deps.out.out(
        table(
          ["TASK ID", "STATE", "DONE (UTC)"],
          members.map((m) => [m.task_id, m.status ?? `undecodable: ${m.error}`, m.date_done ?? ""]),
        ),
      );
    }
    return EXIT.OK;
  });
}
