/** `taskledger stats`: counts by state, task name, worker and hour over a window. */
import type { CountEntry, DurationStats, NameTimings } from "../../backend/auditor.js";
import { replicaText } from "../../backend/auditor.js";
import { withBackend, type CommandDeps } from "../open.js";
import { parsePositiveInt, queryFrom, type FilterOptions } from "../options.js";
import { EXIT } from "../exit-codes.js";
import { bar, formatCount, formatDuration, table } from "../format.js";

export interface StatsOptions extends FilterOptions {
  all?: boolean;
  top?: string;
}

export async function run(options: StatsOptions, deps: CommandDeps): Promise<number> {
  const query = queryFrom({ ...options, since: options.all ? options.since : (options.since ?? "24h") });
  const top = options.top === undefined ? 10 : parsePositiveInt(options.top, "--top");
  return withBackend(deps, async (backend) => {
    const stats = await backend.audit.stats(query, { top });
    // Auditors reading a replica must know how old what they read may be.
    const replica = backend.readsReplica ? ((await backend.audit.replica()) ?? null) : undefined;
    // Queue and run times come from the history; a database without it still gets its counts.
    let timings: NameTimings[] | null = null;
    let timingsError: string | null = null;
    try {
      timings = await backend.audit.timings(query, { top });
    } catch (error) {
      timingsError = `no task history here (${(error as Error).message}); run \`taskledger migrate\``;
    }
    if (deps.json) {
      deps.out.out(
        JSON.stringify(
          {
            since: query.since?.toISOString() ?? null,
            until: query.until?.toISOString() ?? null,
            ...stats,
            timings,
            ...(replica === undefined ? {} : { replica }),
          },
          null,
          2,
        ),
      );
      return EXIT.OK;
    }
    const window = `${query.since ? `since ${query.since.toISOString()}` : "all time"}${query.until ? ` until ${query.until.toISOString()}` : ""}`;
    const rate = stats.failureRate === null ? "n/a" : `${(stats.failureRate * 100).toFixed(1)}%`;
    const charts = deps.out.interactive;
    const section = (title: string, entries: CountEntry[], withFailures: boolean) => {
      if (entries.length === 0) return `${title}\n  (none)`;
      const max = Math.max(...entries.map((e) => e.count));
      const headers = [title.toUpperCase(), "COUNT", ...(withFailures ? ["FAILED"] : []), ...(charts ? [""] : [])];
      const rows = entries.map((e) => [
        e.key ?? "(none)",
        formatCount(e.count),
        ...(withFailures ? [formatCount(e.failures)] : []),
        ...(charts ? [bar(e.count, max)] : []),
      ]);
      return table(headers, rows);
    };
    deps.out.out(
      [
        `${formatCount(stats.total)} tasks ${window}; failure rate ${rate} of finished tasks`,
        ...(replica === undefined ? [] : [replicaText(replica)]),
        "",
        section("state", stats.byState, false),
        "",
        section("task name", stats.byName, true),
        "",
        section("worker", stats.byWorker, true),
        "",
        section(
          "busiest hour (UTC)",
          stats.busiestHours.map((e) => ({ ...e, key: e.key ? `${e.key}:00` : null })),
          true,
        ),
        "",
        timingsSection(timings, timingsError),
      ].join("\n"),
    );
    return EXIT.OK;
  });
}

/** Queue time (sent to started) and run time (started to finished) per task name, from the history. */
function timingsSection(timings: NameTimings[] | null, error: string | null): string {
  const title = "queue and run time (sent → started → finished, from the history)";
  if (timings === null) return `${title}\n  (${error})`;
  if (timings.length === 0)
    return `${title}\n  (none: no task in the window has both ends recorded; producers record the send time with markAsSent)`;
  const cells = (d: DurationStats | null) =>
    d ? [formatCount(d.count), formatDuration(d.p50), formatDuration(d.p95), formatDuration(d.max)] : ["0", "", "", ""];
  return `${title}\n${table(
    ["TASK NAME", "QUEUED", "QUEUE P50", "P95", "MAX", "RAN", "RUN P50", "P95", "MAX"],
    timings.map((t) => [t.name ?? "(none)", ...cells(t.queue), ...cells(t.run)]),
  )}`;
}
