/**
 * The JSON API under /api/, which the pages' script uses and scripts can too; README
 * "Web view" lists the routes. Every read goes through the backend and its auditor.
 */
import { ConfigError } from "../errors.js";
import type { Hono } from "hono";
import { stream } from "hono/streaming";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { CSV_COLUMNS, csvLine, taskRecord } from "../backend/task-records.js";
import { maskUrl } from "../config.js";
import { readFilters, withParams } from "./filters.js";
import { liveFeed, type LiveOptions } from "./live.js";
import { listPage, taskDetail, taskSummary } from "./records.js";
import { groupView, overviewData } from "./views.js";

/** The routes, as GET /api lists them. */
export const API_ROUTES: Record<string, string> = {
  "GET /api/tasks":
    'tasks newest first; filters state, name, worker, queue, group, id (prefix), since, until (ISO date or 24h/7d), error ("Type: message"); limit (1-500, default 100); before (the previous page\'s next)',
  "GET /api/tasks/:id": "every field of one task, with its state history",
  "GET /api/groups/:id": "a group's members, their states and progress",
  "GET /api/stats": "counts by state, name, worker; finished tasks and failures per time bucket (since, until, bucket seconds)",
  "GET /api/failures": "failures grouped by exception type and message, with count, first and last seen",
  "GET /api/export": "every matching task, streamed; format=csv or jsonl (default), same filters as /api/tasks",
  "GET /api/events":
    "server-sent events: one `task` event per new or changed task (same filters); when more changed at once than the feed sends, one `missed` event whose catch_up lists the rest",
  "GET /api/replica":
    "with a read replica: how far behind the primary the data is (lagMs) and whether replay is paused; replica null when reads go to the database itself",
  "GET /api/webhooks": "every webhook (never its secret) with its pending and dead deliveries",
  "GET /api/webhooks/dead": "deliveries given up on, newest first: task, state, attempts, last error (limit 1-1000, default 100)",
  "POST /api/webhooks/dead/:id/replay": "queue a dead letter for delivery again (only with --allow-writes and the header)",
  "POST /api/tasks/:id/forget": "delete the task's row (only with --allow-writes and the X-Taskledger-Token header)",
  "POST /api/tasks/:id/revoke": "mark the task REVOKED unless it finished (only with --allow-writes and the header)",
};

/** JSON with every URL password masked, whatever value carried it. */
function json(value: unknown, status = 200): Response {
  return new Response(maskUrl(JSON.stringify(value)), { status, headers: { "Content-Type": "application/json; charset=utf-8" } });
}

export function mountApi(app: Hono, backend: DatabaseBackend, live: LiveOptions): void {
  app.get("/api", () => json({ routes: API_ROUTES }));
  app.get("/api/replica", async () => json({ replica: backend.readsReplica ? ((await backend.audit.replica()) ?? null) : null }));

  app.get("/api/tasks", async (c) => {
    const filters = readFilters(new URL(c.req.url).searchParams);
    const { items, next } = await listPage(backend.audit, filters);
    return json({
      items: items.map(taskSummary),
      next,
      next_url:
        next === null
          ? null
          : `/api/tasks${withParams(filters.params, { before: next, limit: filters.limit === 100 ? undefined : filters.limit })}`,
    });
  });

  app.get("/api/tasks/:id", async (c) => {
    const [entry] = await backend.audit.byIds([c.req.param("id")]);
    if (!entry) return json({ task_id: c.req.param("id"), status: "PENDING", exists: false, history: [] }, 404);
    return json(await taskDetail(backend, entry));
  });

  app.get("/api/groups/:id", async (c) => json(await groupView(backend, c.req.param("id"))));

  app.get("/api/stats", async (c) => {
    const data = await overviewData(backend, new URL(c.req.url).searchParams, { failures: false });
    return json(data);
  });

  app.get("/api/failures", async (c) => {
    const filters = readFilters(new URL(c.req.url).searchParams);
    return json(await backend.audit.failureGroups(filters.query));
  });

  app.get("/api/export", (c) => {
    const filters = readFilters(new URL(c.req.url).searchParams);
    const format = c.req.query("format") ?? "jsonl";
    if (format !== "csv" && format !== "jsonl") return json({ error: `format: expected csv or jsonl, got "${format}"` }, 400);
    c.header("Content-Type", format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="tasks.${format}"`);
    // A page at a time with the socket's backpressure, as `taskledger export` does with stdout.
    return stream(c, async (out) => {
      if (format === "csv") await out.write(`${CSV_COLUMNS.join(",")}\n`);
      for await (const entry of backend.audit.iterate(filters.query)) {
        if (out.aborted) return;
        const record = taskRecord(entry);
        await out.write(maskUrl(format === "csv" ? csvLine(record) : `${JSON.stringify(record)}\n`));
      }
    });
  });

  app.get("/api/events", (c) => liveFeed(c, backend, readFilters(new URL(c.req.url).searchParams), live));

  app.get("/api/webhooks", async () => json({ webhooks: await backend.listWebhooks() }));
  app.get("/api/webhooks/dead", async (c) => {
    const limit = positiveInt(new URL(c.req.url).searchParams.get("limit"), 100, 1000, "limit");
    return json({ dead_letters: await backend.deadLetters({ limit }) });
  });
  app.post("/api/webhooks/dead/:id/replay", async (c) => {
    const id = positiveInt(c.req.param("id"), undefined, Number.MAX_SAFE_INTEGER, "id");
    return json({ id, replayed: await backend.replayDeadLetters([id]) });
  });

  app.post("/api/tasks/:id/forget", async (c) =>
    json({ task_id: c.req.param("id"), forgotten: (await backend.forget(c.req.param("id"))) > 0 }),
  );

  app.post("/api/tasks/:id/revoke", async (c) => {
    const written = await backend.markAsRevoked(c.req.param("id"), "revoked from taskledger serve", { onlyIfUnready: true });
    return json({ task_id: c.req.param("id"), revoked: written });
  });
}

/** A whole number from 1 to `max` in a query or path (the default when absent), else a ConfigError (400). */
function positiveInt(text: string | null, fallback: number | undefined, max: number, name: string): number {
  if ((text === null || text === "") && fallback !== undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new ConfigError(name, `expected a whole number from 1 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}
