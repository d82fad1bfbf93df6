// taskledger serve: the page script. Loaded from /assets (the CSP forbids inline script).
// It never writes markup: every value goes in through textContent.
"use strict";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function stateBadge(state) {
  const s = state || "PENDING";
  return el("span", s, "state state-" + s.toLowerCase().replace(/[^a-z]/g, ""));
}

function shortTime(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d{3}Z$/, "Z") : "";
}

// Overview: finished tasks and failure rate per bucket, drawn by uPlot (bundled, not from a CDN).
function drawCharts() {
  const data = document.getElementById("chart-data");
  if (!data || typeof uPlot === "undefined") return;
  const { timeline } = JSON.parse(data.textContent);
  const xs = timeline.map((b) => b.start);
  const finished = timeline.map((b) => b.count);
  const failures = timeline.map((b) => b.failures);
  const rate = timeline.map((b) => (b.count ? (100 * b.failures) / b.count : null));
  const width = Math.max(320, Math.min(900, document.querySelector("main").clientWidth - 20));
  const finishedEl = document.getElementById("chart-finished");
  const rateEl = document.getElementById("chart-rate");
  if (xs.length === 0) {
    finishedEl.textContent = "No finished tasks in this window.";
    return;
  }
  new uPlot(
    {
      title: "Finished tasks per bucket",
      width,
      height: 220,
      series: [{}, { label: "finished", stroke: "#2f6fb3", fill: "rgba(47,111,179,0.12)" }, { label: "failed", stroke: "#c0392b" }],
    },
    [xs, finished, failures],
    finishedEl,
  );
  new uPlot(
    {
      title: "Failure rate (%)",
      width,
      height: 180,
      series: [{}, { label: "failure rate %", stroke: "#c0392b" }],
      scales: { y: { range: [0, 100] } },
    },
    [xs, rate],
    rateEl,
  );
}

// Live: rows arrive as server-sent events; "Pause" holds them (and says how many wait).
function live() {
  const table = document.getElementById("live-rows");
  const button = document.getElementById("pause");
  const status = document.getElementById("live-status");
  if (!table || !button) return;
  const body = table.querySelector("tbody");
  let paused = false;
  const held = [];
  const show = (task) => {
    const old = body.querySelector('tr[data-task-id="' + CSS.escape(task.task_id) + '"]');
    if (old) old.remove();
    const tr = document.createElement("tr");
    tr.dataset.taskId = task.task_id;
    tr.className = "fresh";
    const idCell = el("td", null, "mono");
    const link = el("a", task.task_id);
    link.href = "/tasks/" + encodeURIComponent(task.task_id);
    idCell.append(link);
    const stateCell = el("td");
    stateCell.append(stateBadge(task.status));
    const errorCell = el("td");
    if (task.corrupt) errorCell.append(el("span", "corrupt: " + task.corrupt, "corrupt"));
    else errorCell.textContent = task.exception || "";
    tr.append(
      idCell,
      stateCell,
      el("td", task.name),
      el("td", task.worker),
      el("td", task.queue),
      el("td", shortTime(task.date_done || task.date_updated)),
      errorCell,
    );
    body.prepend(tr);
    while (body.rows.length > 200) body.deleteRow(-1);
  };
  const source = new EventSource("/api/events" + location.search);
  source.addEventListener("ready", () => (status.textContent = paused ? "paused" : "live"));
  source.addEventListener("task", (event) => {
    const task = JSON.parse(event.data);
    if (paused) {
      held.push(task);
      status.textContent = "paused (" + held.length + " new)";
    } else show(task);
  });
  // The feed sends at most so many rows per look; the rest of a bulk write are a Tasks page away.
  source.addEventListener("missed", (event) => {
    const missed = document.getElementById("live-missed");
    if (!missed) return;
    missed.querySelector("a").setAttribute("href", JSON.parse(event.data).catch_up.replace(/^\/api\/tasks/, "/tasks"));
    missed.hidden = false;
  });
  source.addEventListener("error", () => (status.textContent = "reconnecting…"));
  button.addEventListener("click", () => {
    paused = !paused;
    button.textContent = paused ? "Resume" : "Pause";
    button.setAttribute("aria-pressed", String(paused));
    document.body.classList.toggle("paused", paused);
    status.textContent = paused ? "paused" : "live";
    if (!paused) held.splice(0).forEach(show);
  });
}

// Task page writes (only rendered with --allow-writes): confirm, then POST with the write token.
function writes() {
  const meta = document.querySelector('meta[name="taskledger-write-token"]');
  const result = document.getElementById("action-result");
  document.querySelectorAll("button[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const action = button.dataset.action;
      if (action === "replay") {
        const deadId = button.dataset.deadId;
        if (!window.confirm("Deliver dead letter " + deadId + " again?")) return;
        const response = await fetch("/api/webhooks/dead/" + encodeURIComponent(deadId) + "/replay", {
          method: "POST",
          headers: { "X-Taskledger-Token": meta ? meta.content : "" },
        });
        const body = await response.json().catch(() => ({}));
        result.textContent = response.ok
          ? body.replayed
            ? "queued for delivery again"
            : "already replayed"
          : "refused: " + (body.error || response.status);
        return;
      }
      const id = button.dataset.taskId;
      if (
        !window.confirm(
          action === "forget"
            ? "Delete the stored result of " + id + "? This cannot be undone."
            : "Mark " + id + " REVOKED (unless it already finished)?",
        )
      )
        return;
      const response = await fetch("/api/tasks/" + encodeURIComponent(id) + "/" + action, {
        method: "POST",
        headers: { "X-Taskledger-Token": meta ? meta.content : "" },
      });
      const body = await response.json().catch(() => ({}));
      result.textContent = response.ok
        ? action === "forget"
          ? body.forgotten
            ? "forgotten"
            : "nothing to forget"
          : body.revoked
            ? "revoked"
            : "already finished; not revoked"
        : "refused: " + (body.error || response.status);
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  live();
  writes();
});
