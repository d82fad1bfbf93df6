/** `taskledger list`: matching tasks, newest first, as a table, JSON or JSON lines. */
import type { ListOrder } from "../../backend/auditor.js";
import { ConfigError } from "../../errors.js";
import { withBackend, type CommandDeps } from "../open.js";
import { parsePositiveInt, queryFrom, type FilterOptions } from "../options.js";
import { EXIT } from "../exit-codes.js";
import { isoTime, table } from "../format.js";
import { taskRecord } from "../../backend/task-records.js";

export interface ListOptions extends FilterOptions {
  limit?: string;
  order?: string;
  jsonl?: boolean;
  held?: boolean;
}

export async function run(options: ListOptions, deps: CommandDeps): Promise<number> {
  const query = { ...queryFrom(options), ...(options.held ? { held: true } : {}) };
  const limit = options.limit === undefined ? 50 : parsePositiveInt(options.limit, "--limit");
  const order = (options.order ?? "newest") as ListOrder;
  if (order !== "newest" && order !== "oldest") throw new ConfigError("--order", `expected newest or oldest, got "${options.order}"`);
  return withBackend(deps, async (backend) => {
    const entries = await backend.audit.list(query, { limit, order });
    if (options.jsonl) {
      for (const entry of entries) deps.out.out(JSON.stringify(taskRecord(entry)));
    } else if (deps.json) {
      deps.out.out(JSON.stringify(entries.map(taskRecord), null, 2));
    } else if (entries.length === 0) {
      deps.out.out("no matching tasks");
    } else {
      deps.out.out(
        table(
          ["TASK ID", "STATE", "NAME", "WORKER", "QUEUE", "RETRIES", "DONE (UTC)"],
          entries.map(({ row, corrupt }) => [
            row.taskId,
            `${row.status ?? ""}${corrupt ? " (undecodable)" : ""}`,
            row.name,
            row.worker,
            row.queue,
            row.retries,
            isoTime(row.dateDone),
          ]),
        ),
      );
      // The table has no room for why a row is undecodable; each one is named on stderr.
      for (const { corrupt } of entries) if (corrupt) deps.out.err(`taskledger: ${corrupt.message}`);
      if (entries.length === limit) deps.out.err(`(first ${limit}; raise --limit or narrow the filters for more)`);
    }
    return EXIT.OK;
  });
}
