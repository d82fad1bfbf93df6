// A Hono server that enqueues a report with pg-boss, answers with the task id and a status
// token, and serves a page that follows the task live through the status handler's events
// endpoint. The worker runs in the same process here; in production it is usually another one,
// and any writer's commit (a Python Celery worker's too) reaches the page the same way.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import pg from "pg";
import PgBoss from "pg-boss";
import { openBackend, runTask } from "taskledger";
import { createStatusHandler, signStatusToken } from "taskledger/http";

export const QUEUE = "reports.generate";

export async function startApp(options: { url: string; secret: string; port?: number; onRecorded?: (taskId: string) => void }) {
  const pool = new pg.Pool({ connectionString: options.url, max: 5 });
  const backend = await openBackend({ client: pool, resultExtended: true });
  const boss = new PgBoss({ connectionString: options.url, max: 2 });
  await boss.start();
  await boss.createQueue(QUEUE);

  // The worker: records STARTED, then SUCCESS with the report, in taskledger's table.
  await boss.work<{ month: string; workMs: number }>(QUEUE, { pollingIntervalSeconds: 0.5 }, async ([job]) => {
    await runTask(
      backend,
      { id: job!.id, name: QUEUE, args: [job!.data] },
      async () => {
        await new Promise((resolve) => setTimeout(resolve, job!.data.workMs));
        return { month: job!.data.month, rows: 1_204 };
      },
      { trackStarted: true },
    );
    options.onRecorded?.(job!.id);
  });

  const app = new Hono();
  app.post("/reports", async (c) => {
    const { month, workMs = 1_000 } = await c.req.json<{ month: string; workMs?: number }>();
    const id = await boss.send(QUEUE, { month, workMs });
    // The token opens this task's status for an hour, and nothing else.
    return c.json({ id, token: signStatusToken(options.secret, id!, { ttl: "1h" }) }, 202);
  });
  app.mount("/status", createStatusHandler(backend, { secret: options.secret, exposeResult: true }));
  app.get("/", (c) => c.html(PAGE));

  const server = serve({ fetch: app.fetch, port: options.port ?? 3000 });
  await new Promise((resolve) => server.once("listening", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    backend,
    close: async () => {
      server.close();
      await boss.stop({ graceful: false, close: true, wait: true });
      await backend.close();
      await pool.end();
    },
  };
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Monthly report</title>
<button id="start">Generate the November report</button>
<p>State: <strong id="state">not started</strong></p>
<pre id="result"></pre>
<script>
document.getElementById("start").onclick = async () => {
  const response = await fetch("/reports", { method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ month: "2026-11", workMs: Number(new URLSearchParams(location.search).get("workMs") ?? 1000) }) });
  const { id, token } = await response.json();
  const events = new EventSource("/status/tasks/" + encodeURIComponent(id) + "/events?token=" + encodeURIComponent(token));
  events.addEventListener("state", (event) => {
    const status = JSON.parse(event.data);
    document.getElementById("state").textContent = status.state;
    if (status.ready) {
      window.readyAt = Date.now();
      document.getElementById("result").textContent = JSON.stringify(status.result ?? status.error, null, 2);
      events.close(); // the server ends the stream after a ready state; do not reconnect
    }
  });
};
</script>`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const app = await startApp({ url: process.env["TASKLEDGER_URL"]!, secret: process.env["STATUS_SECRET"]!, port: 3000 });
  console.log(`open ${app.url}/`);
}
