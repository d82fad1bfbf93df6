/**
 * The web view's webhooks page: every webhook with its pending and dead deliveries, and the dead
 * letters themselves (what was given up on, after how many attempts, with the last error), each
 * with a Replay button when the server runs with --allow-writes. Secrets are never shown.
 */
import type { DatabaseBackend } from "../backend/database-backend.js";
import { h, type SafeHtml } from "./html.js";
import { layout, stateBadge, taskLink, time, type PageContext } from "./layout.js";

/** Dead letters listed on the page (the newest first); the API takes a limit of its own. */
const DEAD_LETTERS_SHOWN = 200;

export async function webhooksPage(ctx: PageContext, backend: DatabaseBackend): Promise<SafeHtml> {
  const [hooks, dead] = await Promise.all([backend.listWebhooks(), backend.deadLetters({ limit: DEAD_LETTERS_SHOWN })]);
  const body = h`
<section><h2>Webhooks</h2>${
    hooks.length === 0
      ? h`<p id="no-webhooks">No webhooks registered (<code>taskledger webhooks add</code>).</p>`
      : h`<table id="webhooks"><thead><tr><th>Id</th><th>URL</th><th>Match</th><th>Pending</th><th>Dead</th><th>Since (UTC)</th></tr></thead><tbody>
${hooks.map((w) => h`<tr><td>${w.id}</td><td class="mono">${w.url}</td><td>${w.match === "" ? "every task" : w.match}</td><td>${w.pending}</td><td>${w.dead}</td><td>${time(w.createdAt.toISOString())}</td></tr>`)}
</tbody></table>`
  }</section>
<section><h2>Dead letters</h2>${
    dead.length === 0
      ? h`<p id="no-dead-letters">No delivery has been given up on.</p>`
      : h`<table id="dead-letters"><thead><tr><th>Id</th><th>Task</th><th>State</th><th>URL</th><th>Attempts</th><th>Last error</th><th>Given up (UTC)</th>${ctx.allowWrites ? h`<th></th>` : ""}</tr></thead><tbody>
${dead.map(
  (d) =>
    h`<tr><td>${d.id}</td><td>${taskLink(d.taskId)}</td><td>${stateBadge(d.state)}</td><td class="mono">${d.url}</td><td>${d.attempts}</td><td class="error">${d.lastError ?? ""}</td><td>${time(d.deadAt.toISOString())}</td>${
      ctx.allowWrites ? h`<td><button type="button" data-action="replay" data-dead-id="${String(d.id)}">Replay</button></td>` : ""
    }</tr>`,
)}
</tbody></table>${ctx.allowWrites ? h`<p><span id="action-result" role="status"></span></p>` : ""}`
  }</section>`;
  return layout(ctx, "Webhooks", "/webhooks", body);
}
