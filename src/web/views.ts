/**
 * The data behind the Overview and Group pages, also served as JSON by /api/stats and
 * /api/groups/:id: one function each, so a page and its API never disagree.
 */
import type { CountEntry, FailureGroup, TimeBucket } from "../backend/auditor.js";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { READY_STATES } from "../states.js";
import { readFilters } from "./filters.js";
import { taskSummary, type TaskSummary } from "./records.js";

/** The overview's preset windows; anything else is a custom since/until. */
export const RANGES: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };
const NICE_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400, 7 * 86_400];
const GROUP_MEMBERS_MAX = 5000;

export interface OverviewData {
  range: string;
  since: string | null;
  until: string | null;
  total: number;
  failureRate: number | null;
  byState: CountEntry[];
  byName: CountEntry[];
  byWorker: CountEntry[];
  bucketSeconds: number;
  timeline: TimeBucket[];
  failures: { groups: FailureGroup[]; scanned: number; complete: boolean } | null;
}

/** About 100 buckets over the window, at a round size. */
export function bucketFor(spanMs: number): number {
  const wanted = spanMs / 1000 / 100;
  return NICE_BUCKETS.find((s) => s >= wanted) ?? NICE_BUCKETS[NICE_BUCKETS.length - 1]!;
}

/** Counts, chart buckets and (unless turned off) failure groups for `range` or since/until. */
export async function overviewData(
  backend: DatabaseBackend,
  search: URLSearchParams,
  options: { failures: boolean; now?: Date },
): Promise<OverviewData> {
  const now = options.now ?? new Date();
  const custom = search.has("since") || search.has("until");
  const range = custom ? "custom" : (search.get("range") ?? "24h");
  const params = new URLSearchParams(search);
  if (!custom && range !== "all") params.set("since", new Date(now.getTime() - (RANGES[range] ?? RANGES["24h"]!)).toISOString());
  const { query } = readFilters(params, now);
  const spanMs = (query.until ?? now).getTime() - (query.since?.getTime() ?? now.getTime() - 30 * 86_400_000);
  const bucketSeconds = Number(search.get("bucket")) || bucketFor(spanMs);
  // Independent reads: on PostgreSQL they run on separate pool connections at once.
  const [stats, timeline, failures] = await Promise.all([
    backend.audit.breakdown(query, { top: 10 }),
    backend.audit.timeline(query, bucketSeconds),
    options.failures ? backend.audit.failureGroups(query) : Promise.resolve(null),
  ]);
  return {
    range,
    since: query.since?.toISOString() ?? null,
    until: query.until?.toISOString() ?? null,
    total: stats.total,
    failureRate: stats.failureRate,
    byState: stats.byState,
    byName: stats.byName,
    byWorker: stats.byWorker,
    bucketSeconds,
    timeline,
    failures,
  };
}

export interface GroupView {
  group_id: string;
  /** Whether the group was saved (celery_tasksetmeta); else members come from the group_id column. */
  saved: boolean;
  date_done: string | null;
  members: TaskSummary[];
  counts: Record<string, number>;
  total: number;
  ready: number;
}

export async function groupView(backend: DatabaseBackend, groupId: string): Promise<GroupView> {
  const saved = await backend.restoreGroup(groupId);
  let members: TaskSummary[];
  if (saved) {
    const found = new Map((await backend.audit.byIds(saved.results)).map((e) => [e.row.taskId, taskSummary(e)]));
    members = saved.results.map(
      (id) =>
        found.get(id) ?? {
          task_id: id,
          status: "PENDING",
          name: null,
          worker: null,
          queue: null,
          retries: null,
          date_done: null,
          date_updated: null,
          group_id: groupId,
          exception: null,
          corrupt: null,
        },
    );
  } else {
    members = (await backend.audit.list({ groups: [groupId] }, { limit: GROUP_MEMBERS_MAX, order: "oldest" })).map(taskSummary);
  }
  const counts: Record<string, number> = {};
  for (const m of members) counts[m.status ?? "PENDING"] = (counts[m.status ?? "PENDING"] ?? 0) + 1;
  const ready = members.filter((m) => m.status !== null && READY_STATES.has(m.status)).length;
  return {
    group_id: groupId,
    saved: saved !== null,
    date_done: saved?.dateDone?.toISOString() ?? null,
    members,
    counts,
    total: members.length,
    ready,
  };
}
