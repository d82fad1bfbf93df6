/** `taskledger stats`: counts by state, task name, worker and hour over a window. */
import type { CountEntry } from "../../backend/auditor.js";
import { positiveInt, queryFrom, withBackend, type CommandDeps, type FilterOptions } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { bar, formatCount, table } from "../format.js";

export interface StatsOptions extends FilterOptions {
  all?: boolean;
  top?: string;
}

export async function run(options: StatsOptions, deps: CommandDeps): Promise<number> {
  const query = queryFrom({ ...options, since: options.all ? options.since : (options.since ?? "24h") });
  const top = options.top === undefined ? 10 : positiveInt(options.top, "--top");
  return withBackend(deps, async (backend) => {
    const stats = await backend.audit.stats(query, { top });
    if (deps.json) {
      deps.out.out(JSON.stringify({ since: query.since?.toISOString() ?? null, until: query.until?.toISOString() ?? null, ...stats }, null, 2));
      return EXIT.OK;
    }
    const window = `${query.since ? `since ${query.since.toISOString()}` : "all time"}${query.until ? ` until ${query.until.toISOString()}` : ""}`;
    const rate = stats.failureRate === null ? "n/a" : `${(stats.failureRate * 100).toFixed(1)}%`;
    const charts = deps.out.interactive;
    const section = (title: string, entries: CountEntry[], withFailures: boolean) => {
      if (entries.length === 0) return `${title}\n  (none)`;
      const max = Math.max(...entries.map((e) => e.count));
      const headers = [title.toUpperCase(), "COUNT", ...(withFailures ? ["FAILED"] : []), ...(charts ? [""] : [])];
      const rows = entries.map((e) => [e.key ?? "(none)", formatCount(e.count), ...(withFailures ? [formatCount(e.failures)] : []), ...(charts ? [bar(e.count, max)] : [])]);
      return table(headers, rows);
    };
    deps.out.out([
      `${formatCount(stats.total)} tasks ${window}; failure rate ${rate} of finished tasks`,
      "",
      section("state", stats.byState, false),
      "",
      section("task name", stats.byName, true),
      "",
      section("worker", stats.byWorker, true),
      "",
      section("busiest hour (UTC)", stats.busiestHours.map((e) => ({ ...e, key: e.key ? `${e.key}:00` : null })), true),
    ].join("\n"));
    return EXIT.OK;
  });
}
