/**
 * examples/status-page in Debian's Chromium on PostgreSQL: pg-boss runs the report, the page
 * follows it through the events endpoint and shows SUCCESS within a second of the worker's
 * commit without polling, and a webhook receiver verifies the signed delivery.
 */
import assert from "node:assert/strict";
import { serve } from "@hono/node-server";
import { after, describe, it } from "node:test";
import { startApp } from "../../examples/status-page/app.js";
import { receiver } from "../../examples/status-page/webhook-receiver.js";
import type { WebhookPayload } from "../../src/http.js";
import { createTestDatabase, pgSkip } from "../helpers/pg.js";
import { browserSkip, launchChromium } from "./chromium.js";

const skip = (await pgSkip()) || browserSkip();

describe("the status page example", { skip }, () => {
  it("shows SUCCESS within 1 s of the worker's commit with no polling requests, and the webhook receiver verifies the delivery", async () => {
    const db = await createTestDatabase("status_page");
    const cleanups: (() => Promise<unknown> | void)[] = [() => db.drop()];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    const recorded = new Map<string, number>();
    const app = await startApp({
      url: db.url,
      secret: "page-secret-0123456789abcdef",
      port: 0,
      onRecorded: (id) => recorded.set(id, Date.now()),
    });
    cleanups.push(() => app.close());
    const events: WebhookPayload[] = [];
    const hookServer = serve({ fetch: receiver("hook-secret-0123456789abcdef", (p) => events.push(p)).fetch, port: 0 });
    await new Promise((resolve) => hookServer.once("listening", resolve));
    cleanups.push(() => void hookServer.close());
    const hookPort = (hookServer.address() as { port: number }).port;
    await app.backend.addWebhook({
      url: `http://127.0.0.1:${hookPort}/hooks/taskledger`,
      match: "reports.*",
      secret: "hook-secret-0123456789abcdef",
    });
    app.backend.startWebhookDispatcher({ interval: 50 });

    const browser = await launchChromium();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await page.goto(`${app.url}/?workMs=1500`);
    await page.click("#start");
    await page.waitForFunction('document.getElementById("state")?.textContent === "STARTED"', undefined, { timeout: 30_000 });
    await page.waitForFunction('document.getElementById("state")?.textContent === "SUCCESS"', undefined, { timeout: 30_000 });
    const readyAt = (await page.evaluate("window.readyAt")) as number;
    const [taskId, committedAt] = [...recorded][0]!;
    const lag = readyAt - committedAt;
    console.log(`# page showed SUCCESS ${lag} ms after runTask returned (commit)`);
    assert.ok(lag <= 1_000, `shown ${lag} ms after the commit`);
    assert.match((await page.textContent("#result")) ?? "", /"rows": 1204/);
    const statusRequests = requests.filter((r) => r.includes("/status/"));
    assert.deepEqual(statusRequests, [`GET /status/tasks/${taskId}/events`], "one stream, no polling");

    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.task_id === taskId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      events.map((e) => [e.task_id, e.state]),
      [[taskId, "SUCCESS"]],
    );
  });
});
