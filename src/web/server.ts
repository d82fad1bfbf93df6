/**
 * `taskledger serve`: the web view over one backend. Hono with its Node adapter: a small,
 * well-kept router built on web-standard Request/Response, with SSE and streaming helpers, no
 * plugin system to configure and one runtime dependency of its own (see the README "Web view").
 */
import type { IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { ConfigError, TaskledgerError } from "../errors.js";
import { maskUrl } from "../config.js";
import { mountApi } from "./api.js";
import { LIVE_BURST_MAX_DEFAULT } from "./live.js";
import { loadAssets } from "./assets.js";
import { nulCheck, statusOf } from "./input.js";
import { errorPage, type PageContext } from "./layout.js";
import { groupPage, livePage, overviewPage, taskPage, tasksPage } from "./pages.js";
import { webhooksPage } from "./webhooks-page.js";
import { checkBind, hostCheck, randomToken, securityHeaders, tokenCheck, writeCheck } from "./security.js";
import type { SafeHtml } from "./html.js";

export const SERVE_PORT_DEFAULT = 8765;
export const SERVE_HOST_DEFAULT = "127.0.0.1";
/** How often the live feed re-reads when no change wakes it (PostgreSQL; SQLite is woken). */
export const LIVE_POLL_DEFAULT_MS = 1000;
/**
 * Socket limits. Node holds a connection that never completes its headers for 60 s (checked only
 * every 30 s) and one that sends nothing at all for ever, so idle clients could keep sockets open
 * at will; requests here carry no body, so a client that has not sent one within seconds never
 * will. Only the request is timed: a live feed or an export streams its response as long as it needs.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const TIMEOUT_CHECK_EVERY_MS = 1_000;

export interface WebOptions {
  host?: string;
  port?: number;
  /** Required for a non-loopback host; checked on every request. */
  token?: string | null;
  /** Offer forget and revoke (POST with the write token in a header). */
  allowWrites?: boolean;
  livePollMs?: number;
  /** Most task events the live feed sends for one look; past it, a `missed` event links to the rest. */
  liveBurstMax?: number;
}

export interface WebServer {
  /** http://host:port/ (with the port actually bound when 0 was asked). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The Hono app: security middleware, the JSON API, the pages and the bundled assets. */
export function createWebApp(backend: DatabaseBackend, options: WebOptions & { shutdown?: AbortSignal } = {}): Hono {
  const host = options.host ?? SERVE_HOST_DEFAULT;
  const token = options.token ?? null;
  checkBind(host, token);
  const allowWrites = options.allowWrites ?? false;
  const writeToken = allowWrites ? (token ?? randomToken()) : null;
  const ctx: PageContext = { storeUrl: backend.url, allowWrites, writeToken };
  const assets = loadAssets();
  const app = new Hono();

  app.use(securityHeaders(), hostCheck(host), tokenCheck(token), nulCheck(), writeCheck(allowWrites, writeToken ?? ""));
  app.onError((error, c) => {
    const status = statusOf(error);
    const known = error instanceof TaskledgerError;
    const message = maskUrl(known ? error.message : `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    if (c.req.path.startsWith("/api/")) return c.json({ error: message }, status);
    return c.html(errorPage(ctx, status, message).text, status);
  });

  const page = (render: Promise<SafeHtml>) =>
    render.then((html) => new Response(maskUrl(html.text), { headers: { "Content-Type": "text/html; charset=utf-8" } }));
  const search = (url: string) => new URL(url).searchParams;

  app.get("/assets/:name", (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) return c.text("no such asset", 404);
    return new Response(new Uint8Array(asset.body), { headers: { "Content-Type": asset.type, "Cache-Control": "public, max-age=3600" } });
  });
  const burstMax = options.liveBurstMax ?? LIVE_BURST_MAX_DEFAULT;
  if (!Number.isInteger(burstMax) || burstMax < 1) throw new ConfigError("liveBurstMax", `expected a positive integer, got ${burstMax}`);
  mountApi(app, backend, {
    pollMs: options.livePollMs ?? LIVE_POLL_DEFAULT_MS,
    burstMax,
    shutdown: options.shutdown ?? new AbortController().signal,
  });

  // With a read replica, each page says how far behind the primary its data is.
  const pageCtx = async (): Promise<PageContext> =>
    backend.readsReplica ? { ...ctx, replica: (await backend.audit.replica().catch(() => undefined)) ?? null } : ctx;
  app.get("/", async (c) => page(overviewPage(await pageCtx(), backend, search(c.req.url))));
  app.get("/tasks", async (c) => page(tasksPage(await pageCtx(), backend, search(c.req.url))));
  app.get("/tasks/:id", async (c) => {
    const [entry] = await backend.audit.byIds([c.req.param("id")]);
    if (!entry) return c.html(errorPage(ctx, 404, `No task ${c.req.param("id")} in this store (it reads as PENDING).`).text, 404);
    return page(taskPage(await pageCtx(), backend, entry));
  });
  app.get("/groups/:id", async (c) => page(groupPage(await pageCtx(), backend, c.req.param("id"))));
  app.get("/live", async (c) => page(livePage(await pageCtx(), backend, search(c.req.url))));
  app.get("/webhooks", async () => page(webhooksPage(await pageCtx(), backend)));
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json({ error: "no such route; GET /api lists them" }, 404)
      : c.html(errorPage(ctx, 404, "No such page.").text, 404),
  );
  return app;
}

/** Starts the server; resolves once it listens. */
export async function startWebServer(backend: DatabaseBackend, options: WebOptions = {}): Promise<WebServer> {
  const shutdown = new AbortController();
  const app = createWebApp(backend, { ...options, shutdown: shutdown.signal });
  const host = options.host ?? SERVE_HOST_DEFAULT;
  const requestedPort = options.port ?? SERVE_PORT_DEFAULT;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535)
    throw new ConfigError("--port", `expected 0 to 65535, got ${requestedPort}`);
  const server: ServerType = await new Promise((resolve, reject) => {
    // overrideGlobalObjects: false leaves the process's Request/Response alone (taskledger may be
    // imported into an application that serves its own HTTP).
    const s = serve(
      {
        fetch: app.fetch,
        port: requestedPort,
        hostname: host,
        overrideGlobalObjects: false,
        serverOptions: {
          headersTimeout: HEADERS_TIMEOUT_MS,
          requestTimeout: REQUEST_TIMEOUT_MS,
          keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
          connectionsCheckingInterval: TIMEOUT_CHECK_EVERY_MS,
        },
      },
      () => resolve(s),
    );
    s.once("error", reject);
  });
  // headersTimeout starts at a request's first byte, so a socket that never sends one is timed
  // here, until its first request arrives (Node's keepAliveTimeout covers the gaps after that).
  server.on("connection", (socket: Socket) => socket.setTimeout(HEADERS_TIMEOUT_MS));
  server.on("request", (req: IncomingMessage) => req.socket.setTimeout(0));
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        shutdown.abort();
        // Live feeds hold their connections open; end them so close() does not wait for clients.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
