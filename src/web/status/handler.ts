/**
 * The status handler an application mounts: a web-standard `(request) => Promise<Response>`, so it
 * runs as it is in Hono (and anything else speaking fetch), and in Node's http, Express or Fastify
 * through @hono/node-server's getRequestListener. Relative to `basePath` it answers
 * `GET /tasks/:id` (the state, with an ETag) and `GET /tasks/:id/events` (server-sent events).
 *
 * Nothing is readable without authorisation: a signed status token for the id (`?token=` or
 * `Authorization: Bearer`), or the application's `authorize(request, id)` saying yes. Every
 * refusal is the same 401, so a caller learns nothing about the id. No CORS headers unless
 * `cors` names the origins.
 */
import { createHash } from "node:crypto";
import type { DatabaseBackend } from "../../backend/database-backend.js";
import { parseDuration, type Duration } from "../../config.js";
import { ConfigError, CorruptValueError, InvalidIdError } from "../../errors.js";
import type { TaskMeta } from "../../types.js";
import { groupStatus, taskStatus } from "./body.js";
import { eventStream, type StreamContext, type StreamSubject } from "./stream.js";
import { checkSecret, checkStatusToken } from "./token.js";

export const STATUS_HEARTBEAT_DEFAULT_MS = 15_000;
export const STATUS_RECHECK_DEFAULT_MS = 5_000;
/** How long the handler trusts its look at whether history is on. */
const HISTORY_CHECK_MS = 30_000;

export interface StatusHandlerOptions {
  /** The secret status tokens are signed with (signStatusToken); at least 16 characters. */
  secret: string;
  /** The application's own rule, consulted when the request carries no valid token for the id. */
  authorize?: (request: Request, taskId: string) => boolean | Promise<boolean>;
  /**
   * Whether answers carry the result (SUCCESS) or the error's type and message (FAILURE,
   * REVOKED): false by default; a function decides per task and request.
   */
  exposeResult?: boolean | ((meta: TaskMeta, request: Request) => boolean | Promise<boolean>);
  /** The path the handler is mounted under, e.g. "/status"; default none. */
  basePath?: string;
  /** Origins allowed to read from a browser on another origin; without it no CORS header is sent. */
  cors?: { origins: readonly string[] | "*" };
  /** A comment line on every open stream this often, so proxies keep it open. Default 15 s. */
  heartbeat?: Duration;
  /** Each stream re-reads at least this often without a wake-up. Default 5 s. */
  recheck?: Duration;
}

export type StatusHandler = (request: Request) => Promise<Response>;

const ROUTE = /^\/tasks\/([^/]+)(\/events)?\/?$/;

export function createStatusHandler(backend: DatabaseBackend, options: StatusHandlerOptions): StatusHandler {
  const secret = checkSecret(options?.secret);
  const basePath = (options.basePath ?? "").replace(/\/+$/, "");
  if (basePath && !basePath.startsWith("/")) throw new ConfigError("basePath", `start it with "/" (got "${basePath}")`);
  const heartbeatMs = parseDuration(options.heartbeat ?? STATUS_HEARTBEAT_DEFAULT_MS, "heartbeat");
  let historyLook: { at: number; on: Promise<boolean> } | undefined;
  let beats: NodeJS.Timeout | undefined;
  const ctx: StreamContext = {
    backend,
    recheckMs: parseDuration(options.recheck ?? STATUS_RECHECK_DEFAULT_MS, "recheck"),
    open: new Set(),
    historyOn: () => {
      if (!historyLook || Date.now() - historyLook.at > HISTORY_CHECK_MS) {
        const on = backend.historyEnabled();
        on.catch(() => (historyLook = undefined));
        historyLook = { at: Date.now(), on };
      }
      return historyLook.on;
    },
    // One timer for every stream, running only while some are open.
    startBeats: () => {
      if (beats) return;
      beats = setInterval(() => {
        for (const stream of ctx.open) stream.beat();
        if (ctx.open.size === 0) {
          clearInterval(beats);
          beats = undefined;
        }
      }, heartbeatMs);
      beats.unref();
    },
  };

  const expose = async (meta: TaskMeta, request: Request) =>
    typeof options.exposeResult === "function" ? await options.exposeResult(meta, request) : options.exposeResult === true;

  const allowed = async (request: Request, url: URL, id: string) => {
    const header = request.headers.get("authorization");
    const token = header?.toLowerCase().startsWith("bearer ") ? header.slice(7).trim() : url.searchParams.get("token");
    if (token && checkStatusToken(secret, token, id) === "valid") return true;
    return options.authorize ? (await options.authorize(request, id)) === true : false;
  };

  const corsHeaders = (request: Request): Record<string, string> => {
    const origin = request.headers.get("origin");
    if (!options.cors || !origin) return {};
    const origins = options.cors.origins;
    if (origins !== "*" && !origins.includes(origin)) return {};
    return { "access-control-allow-origin": origin, vary: "Origin", "access-control-expose-headers": "ETag" };
  };

  return async (request) => {
    const url = new URL(request.url);
    const cors = corsHeaders(request);
    if (request.method === "OPTIONS" && cors["access-control-allow-origin"])
      return new Response(null, {
        status: 204,
        headers: {
          ...cors,
          "access-control-allow-methods": "GET",
          "access-control-allow-headers": "Authorization, If-None-Match, Last-Event-ID",
          "access-control-max-age": "600",
        },
      });
    if (basePath && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return problem(404, "not found", cors);
    const match = ROUTE.exec(url.pathname.slice(basePath.length));
    if (!match) return problem(404, "not found: use GET …/tasks/<id> or GET …/tasks/<id>/events", cors);
    if (request.method !== "GET" && request.method !== "HEAD") return problem(405, "only GET is answered here", { ...cors, allow: "GET" });
    let id: string;
    try {
      id = decodeURIComponent(match[1]!);
    } catch {
      return problem(400, "the task id is not valid URL encoding", cors);
    }
    if (!(await allowed(request, url, id)))
      return problem(401, "a status token for this task is needed (?token= or Authorization: Bearer), or it has expired", {
        ...cors,
        "www-authenticate": 'Bearer realm="taskledger"',
      });
    try {
      return match[2] ? await events(request, id, cors) : await status(request, id, cors);
    } catch (error) {
      if (error instanceof InvalidIdError) return problem(400, error.message, cors);
      if (error instanceof CorruptValueError) return problem(500, "the stored state of this task cannot be read", cors);
      throw error;
    }
  };

  /** A task, or a saved group when no task has the id. */
  async function subject(
    id: string,
  ): Promise<{ meta: TaskMeta; group?: undefined } | { meta?: undefined; group: StreamSubject & { kind: "group" } }> {
    const meta = await backend.getTaskMeta(id);
    if (meta.exists) return { meta };
    const group = await backend.restoreGroup(id);
    return group ? { group: { kind: "group", groupId: id, memberIds: group.results } } : { meta };
  }

  async function status(request: Request, id: string, cors: Record<string, string>): Promise<Response> {
    const found = await subject(id);
    let body: unknown;
    if (found.meta) body = taskStatus(found.meta, await expose(found.meta, request));
    else {
      const metas = await backend.getManyTaskMeta(found.group.memberIds);
      const members = [];
      for (const memberId of found.group.memberIds) {
        const meta = metas.get(memberId)!;
        if (meta instanceof Error) throw meta;
        members.push(taskStatus(meta, await expose(meta, request)));
      }
      body = groupStatus(id, members);
    }
    const text = JSON.stringify(body);
    const etag = `"${createHash("sha256").update(text).digest("base64url").slice(0, 27)}"`;
    const headers = { ...cors, etag, "cache-control": "no-store", "content-type": "application/json; charset=utf-8" };
    const since = request.headers.get("if-none-match");
    if (since && since.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag))
      return new Response(null, { status: 304, headers });
    return new Response(request.method === "HEAD" ? null : text, { status: 200, headers });
  }

  async function events(request: Request, id: string, cors: Record<string, string>): Promise<Response> {
    const found = await subject(id);
    const raw = request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("lastEventId");
    const lastEventId = raw && /^\d{1,15}$/.test(raw) ? Number(raw) : null;
    const target: StreamSubject = found.meta ? { kind: "task", taskId: id } : found.group;
    // A browser reconnects to a stream that ended; 204 tells EventSource the task has nothing more to say.
    if (found.meta && lastEventId !== null && found.meta.status !== "PENDING" && taskStatus(found.meta, false).ready) {
      if ((await backend.latestHistoryId([id])) <= lastEventId) return new Response(null, { status: 204, headers: cors });
    }
    const exposed = found.meta ? await expose(found.meta, request) : options.exposeResult === true;
    const response = eventStream(ctx, request, target, lastEventId, exposed);
    for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    return response;
  }
}

function problem(status: number, message: string, headers: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: { ...headers, "cache-control": "no-store", "content-type": "application/json; charset=utf-8" },
  });
}
