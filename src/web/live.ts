/**
 * The Live page's feed (#14): server-sent events, one `task` event per new or changed task.
 * It waits on the same change hub as get() waiters (SQLite: PRAGMA data_version wakes it at
 * once; this process's own writes too) and otherwise re-reads every `pollMs`: a cheap indexed
 * read of rows written since the last look (date_done, or date_updated while unready).
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { maskUrl } from "../config.js";
import type { WebFilters } from "./filters.js";
import { taskSummary } from "./records.js";

/** Writers stamp rows with their own clock before committing: look back this far and dedupe. */
const OVERLAP_MS = 5_000;
const HEARTBEAT_EVERY_MS = 15_000;

/** `shutdown` ends every feed when the server closes (clients would otherwise hold it open). */
export function liveFeed(c: Context, backend: DatabaseBackend, filters: WebFilters, pollMs: number, shutdown: AbortSignal): Response {
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
    let lastBeat = Date.now();
    await stream.writeSSE({ event: "ready", data: "{}" });
    try {
      while (!stream.aborted && !stream.closed && !shutdown.aborted) {
        await subscription.wait(pollMs);
        if (stream.aborted || stream.closed || shutdown.aborted) break;
        const started = Date.now();
        const rows = await backend.audit.list({ ...filters.query, since: new Date(since - OVERLAP_MS) }, { limit: 500, order: "newest" });
        // Newest first keeps the read on the id index's recent end; sent oldest first.
        for (const entry of rows.reverse()) {
          const summary = taskSummary(entry);
          const key = `${summary.task_id}|${summary.status}|${summary.date_done}|${summary.date_updated}`;
          if (seen.has(key)) continue;
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
