/**
 * The Live page's feed: server-sent events, one `task` event per new or changed task.
 * It waits on the same change hub as get() waiters (SQLite: PRAGMA data_version wakes it at
 * once; this process's own writes too) and otherwise re-reads every `pollMs`: an indexed read,
 * newest first by time, of rows written since the last look (date_done, or date_updated while
 * unready), page after page until it has them all.
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { ListedTask } from "../backend/auditor.js";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { maskUrl } from "../config.js";
import { withParams, type WebFilters } from "./filters.js";
import { taskSummary, type TaskSummary } from "./records.js";

/** Writers stamp rows with their own clock before committing: look back this far and dedupe. */
const OVERLAP_MS = 5_000;
const HEARTBEAT_EVERY_MS = 15_000;
/** Rows per read; a look reads as many pages as the changes since the last one fill. */
const PAGE = 500;
/** Most task events one look sends; past it, a `missed` event links to the rest (LiveOptions.burstMax). */
export const LIVE_BURST_MAX_DEFAULT = 10_000;

export interface LiveOptions {
  pollMs: number;
  /**
   * Most task events one look sends. A burst beyond it (a bulk import) is not pushed row by row
   * to a page that shows the last 200: the feed sends the newest, then one `missed` event whose
   * `catch_up` lists the others through /api/tasks.
   */
  burstMax: number;
  /** Ends every feed when the server closes (clients would otherwise hold it open). */
  shutdown: AbortSignal;
}

/** What one look found: the changes not sent before, oldest first, and where the cap cut it. */
interface Look {
  fresh: { key: string; summary: TaskSummary }[];
  /** When the cap cut the look short, the oldest row sent: rows listed after it were not sent. */
  cutAfter: ListedTask | undefined;
}

export function liveFeed(c: Context, backend: DatabaseBackend, filters: WebFilters, options: LiveOptions): Response {
  const { pollMs, burstMax, shutdown } = options;
  return streamSSE(c, async (stream) => {
    const subscription = await backend.subscribe([]);
    const end = () => {
      subscription.close();
      void stream.close();
    };
    stream.onAbort(end);
    shutdown.addEventListener("abort", end, { once: true });
    const seen = new Map<string, number>(); // task id + state + time -> when it was sent
    let since = Date.now();
    // After a `missed` event, rows at or before the cut belong to its catch-up link: later looks
    // start after it, or each would report the same rows missing again.
    let floor = 0;
    let lastBeat = Date.now();
    await stream.writeSSE({ event: "ready", data: "{}" });
    try {
      while (!stream.aborted && !stream.closed && !shutdown.aborted) {
        await subscription.wait(pollMs);
        if (stream.aborted || stream.closed || shutdown.aborted) break;
        const started = Date.now();
        const from = new Date(Math.max(since - OVERLAP_MS, floor));
        const until = new Date(started);
        const look = await readLook(backend, { ...filters.query, since: from, until }, seen, burstMax);
        if (look.cutAfter) {
          const cut = look.cutAfter;
          const catchUp = `/api/tasks${withParams(filters.params, { since: from.toISOString(), until: until.toISOString(), before: cut.cursor, limit: PAGE })}`;
          await stream.writeSSE({
            event: "missed",
            data: JSON.stringify({ since: from.toISOString(), until: until.toISOString(), before: cut.cursor, catch_up: catchUp }),
          });
          // Listed by time, so the cut row's time bounds every row left out (ties by id, in the link).
          const at = cut.row.dateDone ?? cut.row.dateUpdated;
          if (at) floor = at.getTime() + 1;
        }
        for (const { key, summary } of look.fresh) {
          seen.set(key, started);
          await stream.writeSSE({ event: "task", data: maskUrl(JSON.stringify(summary)) });
        }
        since = started;
        for (const [key, at] of seen) if (at < started - 2 * OVERLAP_MS) seen.delete(key);
        if (started - lastBeat > HEARTBEAT_EVERY_MS) {
          await stream.write(": keep-alive\n\n");
          lastBeat = started;
        }
      }
    } catch (error) {
      // A feed that cannot read any more (database gone, backend closed) says so and ends; the
      // page's EventSource reconnects and shows "reconnecting…" meanwhile.
      if (!stream.closed)
        await stream
          .writeSSE({ event: "failed", data: JSON.stringify({ error: maskUrl(error instanceof Error ? error.message : String(error)) }) })
          .catch(() => undefined);
    } finally {
      shutdown.removeEventListener("abort", end);
      subscription.close();
    }
  });
}

/**
 * The rows of the window not sent yet, newest first by time a page at a time until a short page,
 * or until `max` of them (the look is then cut, and the rows after the cut go unsent).
 */
async function readLook(backend: DatabaseBackend, query: WebFilters["query"], seen: Map<string, number>, max: number): Promise<Look> {
  const fresh: Look["fresh"] = [];
  let last: ListedTask | undefined;
  let after: string | undefined;
  for (;;) {
    const page = await backend.audit.list(query, { limit: PAGE, order: "newest", ...(after === undefined ? {} : { after }) });
    for (const entry of page) {
      const summary = taskSummary(entry);
      const key = `${summary.task_id}|${summary.status}|${summary.date_done}|${summary.date_updated}`;
      if (seen.has(key)) continue;
      if (fresh.length === max) return { fresh: fresh.reverse(), cutAfter: last };
      fresh.push({ key, summary });
      last = entry;
    }
    if (page.length < PAGE) return { fresh: fresh.reverse(), cutAfter: undefined };
    after = page[page.length - 1]!.cursor;
  }
}
