/**
 * The five pages, rendered on the server from the same data the API returns. Every
 * stored value passes through `h`, which escapes it; the page script (assets/app.js) only adds
 * charts, the live feed and write confirmations, and itself only ever sets textContent.
 */
import type { ListedTask } from "../backend/auditor.js";
import type { DatabaseBackend } from "../backend/database-backend.js";
import { failureKey } from "../backend/failure-groups.js";
import { toPlain } from "../backend/task-records.js";
import { FAILURE, PENDING, RECEIVED, RETRY, REVOKED, STARTED, SUCCESS } from "../states.js";
import { readFilters, withParams } from "./filters.js";
import { h, jsonBlock, type SafeHtml } from "./html.js";
import { groupLink, layout, stateBadge, taskLink, time, type PageContext } from "./layout.js";
import { listPage, taskDetail, taskSummary, type TaskSummary } from "./records.js";
import { groupView, overviewData, RANGES } from "./views.js";

const STATES = [SUCCESS, FAILURE, STARTED, RETRY, REVOKED, RECEIVED, PENDING];
const pretty = (value: unknown) => JSON.stringify(toPlain(value), null, 2);

function summaryRow(t: TaskSummary): SafeHtml {
  return h`<tr data-task-id="${t.task_id}">
<td class="mono">${taskLink(t.task_id)}</td><td>${stateBadge(t.status)}</td><td>${t.name ?? ""}</td><td>${t.worker ?? ""}</td><td>${t.queue ?? ""}</td>
<td>${time(t.date_done ?? t.date_updated)}</td>
<td>${t.corrupt ? h`<span class="corrupt">corrupt: ${t.corrupt}</span>` : (t.exception ?? "")}</td></tr>`;
}

export function taskTable(rows: TaskSummary[], id = "tasks"): SafeHtml {
  return h`<table id="${id}"><thead><tr><th>Task id</th><th>State</th><th>Name</th><th>Worker</th><th>Queue</th><th>Done / updated (UTC)</th><th>Error</th></tr></thead>
<tbody>${rows.map(summaryRow)}</tbody></table>`;
}

function countTable(
  title: string,
  key: string,
  entries: { key: string | null; count: number; failures: number }[],
  since: string,
): SafeHtml {
  return h`<section><h2>${title}</h2><table class="counts"><thead><tr><th>${title}</th><th>Count</th><th>Failed</th></tr></thead><tbody>
${entries.map((e) => h`<tr><td>${e.key === null ? "(none)" : h`<a href="/tasks${withParams(new URLSearchParams({ [key]: e.key, since }), {})}">${e.key}</a>`}</td><td class="num">${e.count}</td><td class="num">${e.failures}</td></tr>`)}
</tbody></table></section>`;
}

export async function overviewPage(ctx: PageContext, backend: DatabaseBackend, search: URLSearchParams): Promise<SafeHtml> {
  const data = await overviewData(backend, search, { failures: true });
  const since = data.since ?? "";
  const rate = data.failureRate === null ? "n/a" : `${(data.failureRate * 100).toFixed(1)}%`;
  const ranges = [...Object.keys(RANGES), "all"];
  const body = h`
<nav class="ranges">${ranges.map((r) => h`<a href="/?range=${r}"${data.range === r ? h` class="active"` : ""}>${r === "all" ? "all time" : `last ${r}`}</a>`)}
<form method="get" action="/" class="inline"><label>since <input name="since" value="${search.get("since") ?? ""}" placeholder="2026-11-17 or 3d"></label>
<label>until <input name="until" value="${search.get("until") ?? ""}" placeholder="optional"></label><button type="submit">Show</button></form></nav>
<p class="summary"><span id="total">${data.total}</span> tasks ${data.since ? h`since ${time(data.since)}` : "in all"}${data.until ? h` until ${time(data.until)}` : ""}; failure rate <span id="failure-rate">${rate}</span> of finished tasks.</p>
<section><h2>By state</h2><table id="states" class="counts"><thead><tr><th>State</th><th>Count</th></tr></thead><tbody>
${data.byState.map((e) => h`<tr data-state="${e.key ?? ""}"><td><a href="/tasks${withParams(new URLSearchParams({ state: e.key ?? "", since }), {})}">${stateBadge(e.key)}</a></td><td class="num">${e.count}</td></tr>`)}
</tbody></table></section>
<section class="charts"><h2>Finished tasks and failure rate</h2><div id="chart-finished" class="chart"></div><div id="chart-rate" class="chart"></div>
${jsonBlock("chart-data", { bucketSeconds: data.bucketSeconds, timeline: data.timeline })}</section>
<div class="columns">${countTable("Task name", "name", data.byName, since)}${countTable("Worker", "worker", data.byWorker, since)}</div>
<section><h2>Failures by exception</h2>
${
  data.failures && data.failures.groups.length > 0
    ? h`<table id="failure-groups"><thead><tr><th>Exception</th><th>Message</th><th>Count</th><th>First seen</th><th>Last seen</th><th>Task names</th><th></th></tr></thead><tbody>
${data.failures.groups.map(
  (
    g,
  ) => h`<tr><td>${g.type}</td><td>${g.message}</td><td class="num">${g.count}</td><td>${time(g.firstSeen?.toISOString() ?? null)}</td><td>${time(g.lastSeen?.toISOString() ?? null)}</td><td>${g.names.join(", ")}</td>
<td><a href="/tasks${withParams(new URLSearchParams({ error: failureKey(g.type, g.message), since }), {})}">tasks</a></td></tr>`,
)}</tbody></table>
${data.failures.complete ? "" : h`<p class="note">Too many distinct error values to group them all: these groups cover the most frequent (${data.failures.scanned} failures); narrow the window to see the rest.</p>`}`
    : h`<p>No failures in this window.</p>`
}
</section>`;
  return layout(ctx, "Overview", "/", body, { charts: true });
}

export async function tasksPage(ctx: PageContext, backend: DatabaseBackend, search: URLSearchParams): Promise<SafeHtml> {
  const filters = readFilters(search);
  const { items, next } = await listPage(backend.audit, filters);
  const p = filters.params;
  const input = (name: string, label: string, placeholder = "") =>
    h`<label>${label} <input name="${name}" value="${p.get(name) ?? ""}" placeholder="${placeholder}"></label>`;
  const chosen = new Set(filters.query.states ?? []);
  const body = h`
<form method="get" action="/tasks" id="filters" class="filters">
<label>State <select name="state"><option value="">any</option>${STATES.map((s) => h`<option${chosen.has(s) && chosen.size === 1 ? h` selected` : ""}>${s}</option>`)}</select></label>
${input("name", "Name")}${input("worker", "Worker")}${input("queue", "Queue")}${input("group", "Group")}${input("id", "Id prefix")}
${input("since", "Since", "24h or 2026-11-17")}${input("until", "Until")}${p.get("error") ? h`<input type="hidden" name="error" value="${p.get("error")}"><span class="chip">error: ${p.get("error")}</span>` : ""}
<button type="submit">Filter</button> <a href="/tasks">clear</a></form>
<p class="actions">Download the filtered set: <a href="/api/export${withParams(p, { format: "csv" })}">CSV</a> · <a href="/api/export${withParams(p, { format: "jsonl" })}">JSONL</a></p>
${items.length === 0 ? h`<p id="empty">No tasks match.</p>` : taskTable(items.map(taskSummary))}
<nav class="pager">${filters.before !== undefined ? h`<a href="/tasks${withParams(p, {})}">« newest</a>` : ""}
${next !== null ? h`<a id="next-page" href="/tasks${withParams(p, { before: next, limit: filters.limit === 100 ? undefined : filters.limit })}">older »</a>` : ""}</nav>`;
  return layout(ctx, "Tasks", "/tasks", body);
}

export async function taskPage(ctx: PageContext, backend: DatabaseBackend, entry: ListedTask): Promise<SafeHtml> {
  const d = await taskDetail(backend, entry);
  const row = entry.row;
  const history = d["history"] as {
    status: string;
    date: string | null;
    worker: string | null;
    retries: number | null;
    error: { type: string; message: string } | null;
  }[];
  const exception = d["exception"] as { type: string; message: string } | null;
  const field = (label: string, value: SafeHtml | string | number | null) =>
    value === null || value === "" ? "" : h`<dt>${label}</dt><dd>${value}</dd>`;
  const children = entry.meta?.children ?? [];
  const body = h`
<dl class="fields" id="task-fields">
${field("Task id", h`<span class="mono">${row.taskId}</span>`)}${field("State", stateBadge(row.status))}${field("Name", row.name)}${field("Worker", row.worker)}
${field("Queue", row.queue)}${field("Retries", row.retries)}${field("Done (UTC)", time(d["date_done"] as string | null))}${field("Last written (UTC)", time(d["date_updated"] as string | null))}
${field("Parent", row.parentId ? taskLink(row.parentId) : null)}${field("Group", row.groupId ? groupLink(row.groupId) : null)}
${children.length ? h`<dt>Children</dt><dd>${children.map((c) => h`${taskLink(c)} `)}</dd>` : ""}
</dl>
${
  entry.corrupt
    ? h`<section id="corrupt"><h2>Corrupt row</h2><p class="corrupt">${entry.corrupt.message}</p>
${d["raw_result"] ? h`<p>raw result: <code>${pretty(d["raw_result"])}</code></p>` : ""}</section>`
    : h`
${exception ? h`<section id="exception"><h2>Error</h2><p class="error"><strong>${exception.type}</strong>: ${exception.message}</p></section>` : h`<section id="result"><h2>Result</h2><pre>${pretty(entry.meta.result)}</pre></section>`}
<section><h2>Arguments</h2><h3>args</h3><pre id="args">${pretty(entry.meta.args)}</pre><h3>kwargs</h3><pre id="kwargs">${pretty(entry.meta.kwargs)}</pre></section>`
}
${row.traceback ? h`<section><h2>Traceback</h2><pre id="traceback">${row.traceback}</pre></section>` : ""}
<section><h2>State history</h2>${
    history.length === 0
      ? h`<p id="no-history">This database keeps no state history for this task.</p>`
      : h`<ol class="timeline" id="timeline">
${history.map((e) => h`<li>${stateBadge(e.status)} ${time(e.date)} ${e.worker ? h`on ${e.worker}` : ""}${e.retries ? h` (retry ${e.retries})` : ""}${e.error ? h` <span class="error">${e.error.type}: ${e.error.message}</span>` : ""}</li>`)}</ol>`
  }</section>
${
  ctx.allowWrites
    ? h`<section id="writes"><h2>Actions</h2><button type="button" data-action="revoke" data-task-id="${row.taskId}">Revoke</button>
<button type="button" data-action="forget" data-task-id="${row.taskId}">Forget</button> <span id="action-result" role="status"></span></section>`
    : ""
}
<p><a href="/api/tasks/${encodeURIComponent(row.taskId)}">as JSON</a></p>`;
  return layout(ctx, `Task ${row.taskId}`, "", body);
}

export async function groupPage(ctx: PageContext, backend: DatabaseBackend, groupId: string): Promise<SafeHtml> {
  const g = await groupView(backend, groupId);
  const body =
    g.total === 0
      ? h`<p id="empty">No saved group and no tasks with this group id.</p>`
      : h`
<p><progress id="group-progress" max="${g.total}" value="${g.ready}">${g.ready}/${g.total}</progress> <span id="group-ready">${g.ready} of ${g.total}</span> finished${g.saved ? "" : " (members found by their group_id column; the group itself was not saved)"}</p>
<p class="chips">${Object.entries(g.counts).map(([state, n]) => h`${stateBadge(state)} ${n} `)}</p>
${taskTable(g.members, "members")}`;
  return layout(ctx, `Group ${groupId}`, "", body);
}

export async function livePage(ctx: PageContext, backend: DatabaseBackend, search: URLSearchParams): Promise<SafeHtml> {
  const filters = readFilters(search);
  const recent = await backend.audit.list(filters.query, { limit: 50, order: "newest" });
  const body = h`
<p class="live-controls"><button type="button" id="pause" aria-pressed="false">Pause</button> <span id="live-status" role="status">connecting…</span></p>
<p id="live-missed" class="note" hidden>More tasks changed at once than the feed sends: <a href="/tasks">see the rest in Tasks</a>.</p>
${taskTable(recent.map(taskSummary), "live-rows")}`;
  return layout(ctx, "Live", "/live", body);
}
