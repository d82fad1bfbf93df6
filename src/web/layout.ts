/** The frame every page shares: head with the bundled assets only, navigation, footer. */
import { replicaText } from "../backend/auditor.js";
import { h, type SafeHtml } from "./html.js";

export interface PageContext {
  /** The store, password masked. */
  storeUrl: string;
  allowWrites: boolean;
  /** Sent back in a header by the page's script for writes; present only with --allow-writes. */
  writeToken: string | null;
  /** With a read replica (readUrl): how far behind the primary the pages' data is, read for this page. */
  replica?: { lagMs: number; paused: boolean } | null;
}

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/tasks", "Tasks"],
  ["/live", "Live"],
  ["/webhooks", "Webhooks"],
];

export function layout(ctx: PageContext, title: string, active: string, body: SafeHtml, options: { charts?: boolean } = {}): SafeHtml {
  return h`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · taskledger</title>
<link rel="stylesheet" href="/assets/app.css">
${options.charts ? h`<link rel="stylesheet" href="/assets/uPlot.min.css"><script src="/assets/uPlot.iife.min.js" defer></script>` : ""}
${ctx.writeToken ? h`<meta name="taskledger-write-token" content="${ctx.writeToken}">` : ""}
<script src="/assets/app.js" defer></script>
</head>
<body>
<header><span class="brand">taskledger</span><nav>${NAV.map(([href, label]) => h`<a href="${href}"${active === href ? h` class="active"` : ""}>${label}</a>`)}</nav></header>
<main>
<h1>${title}</h1>
${body}
</main>
<footer>store: <code>${ctx.storeUrl}</code>${ctx.replica === undefined ? "" : h` · <span class="replica">${replicaText(ctx.replica)}</span>`} · ${ctx.allowWrites ? "writes enabled (forget, revoke)" : "read-only"} · <a href="/api">JSON API</a></footer>
</body>
</html>`;
}

/** A state as a coloured label (colour by class, text always present). */
export function stateBadge(state: string | null): SafeHtml {
  const s = state ?? "PENDING";
  return h`<span class="state state-${s.toLowerCase().replace(/[^a-z]/g, "")}">${s}</span>`;
}

export function time(iso: string | null): SafeHtml {
  return iso ? h`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d{3}Z$/, "Z")}</time>` : h``;
}

/** Link to a task page; the id is a path segment, so it is URL-encoded as well as escaped. */
export function taskLink(taskId: string, label: string = taskId): SafeHtml {
  return h`<a href="/tasks/${encodeURIComponent(taskId)}">${label}</a>`;
}

export function groupLink(groupId: string): SafeHtml {
  return h`<a href="/groups/${encodeURIComponent(groupId)}">${groupId}</a>`;
}

export function errorPage(ctx: PageContext, status: number, message: string): SafeHtml {
  return layout(ctx, status === 404 ? "Not found" : "Error", "", h`<p class="error">${message}</p>`);
}
