/**
 * The web view in a real browser, per dialect: what an auditor sees and does, and
 * that the safety rules hold where they matter, in the page (no script runs from stored values).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { DatabaseBackend } from "../../src/index.js";
import { startWebServer, type WebServer } from "../../src/web/server.js";
import { cli } from "../helpers/cli.js";
import { runFixture } from "../helpers/spawn.js";
import { freshStore, openSeeded, XSS_NAME, XSS_RESULT, type Seeded, type Store } from "../web/seed.js";
import type { Harness } from "../helpers/harness.js";
import { browserSkip, launchChromium } from "./chromium.js";

export function browserSuite(harness: Harness, skipReason: string | false): void {
  describe(`the web view in Chromium on ${harness.dialect}`, async () => {
    const skip = browserSkip() || skipReason;
    let store: Store;
    let backend: DatabaseBackend;
    let seeded: Seeded;
    let server: WebServer;
    let browser: Browser;
    let page: Page;
    const dialogs: string[] = [];
    const rows = (selector: string) => page.locator(`${selector} tbody tr`);

    before(async () => {
      if (skip) return;
      store = await freshStore(harness, "web_browser");
      ({ backend, seeded } = await openSeeded(store));
      server = await startWebServer(backend, { port: 0, livePollMs: 250 });
      browser = await launchChromium();
      page = await browser.newPage();
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
    });
    after(async () => {
      if (skip) return;
      await browser.close();
      await server.close();
      await backend.close();
      await harness.cleanup();
    });

    it("the overview shows the seeded counts, a chart and the failure groups", { skip }, async () => {
      await page.goto(server.url);
      assert.equal(await page.locator("#total").textContent(), String(seeded.total));
      for (const [state, count] of Object.entries(seeded.counts)) {
        assert.equal(await page.locator(`#states tr[data-state="${state}"] td.num`).textContent(), String(count), state);
      }
      await page.locator("#chart-finished canvas").first().waitFor();
      const group = page.locator("#failure-groups tbody tr").first();
      assert.match((await group.textContent()) ?? "", /RangeError\s*bad row 7\s*3/);
      await group.locator("a", { hasText: "tasks" }).click();
      assert.equal(await rows("#tasks").count(), 3);
    });

    it("filtering by state and then by name narrows the table, and the URL can be shared", { skip }, async () => {
      await page.goto(`${server.url}tasks`);
      assert.equal(await rows("#tasks").count(), seeded.total);
      await page.selectOption("select[name=state]", "FAILURE");
      await page.click("#filters button[type=submit]");
      assert.equal(await rows("#tasks").count(), seeded.counts["FAILURE"]);
      await page.fill("input[name=name]", "etl.load");
      await page.click("#filters button[type=submit]");
      assert.equal(await rows("#tasks").count(), 3);
      assert.match(page.url(), /state=FAILURE/);
      assert.match(page.url(), /name=etl\.load/);
      const shared = await browser.newPage();
      await shared.goto(page.url());
      assert.equal(await shared.locator("#tasks tbody tr").count(), 3);
      await shared.close();
    });

    it("a failed task's page shows its error and traceback", { skip }, async () => {
      await page.goto(`${server.url}tasks/${seeded.failedId}`);
      assert.match((await page.locator("#exception").textContent()) ?? "", /RangeError: bad row 7/);
      assert.match((await page.locator("#traceback").textContent()) ?? "", /File "etl.py", line 40, in load/);
    });

    it("a group page shows its members' states and progress", { skip }, async () => {
      await page.goto(`${server.url}groups/${seeded.groupId}`);
      assert.equal(await page.locator("#group-progress").getAttribute("value"), "2");
      const states = await page.locator("#members tbody tr td:nth-child(2)").allTextContents();
      assert.deepEqual(
        states.map((s) => s.trim()),
        ["SUCCESS", "FAILURE", "STARTED"],
      );
    });

    it("a result committed by another process appears live, and Pause holds it", { skip }, async () => {
      await page.goto(`${server.url}live`);
      await page.locator("#live-status", { hasText: "live" }).waitFor();
      const stored = await runFixture("open-and-store.ts", [store.url, "from-another-process"]);
      assert.equal(stored.code, 0, stored.stderr);
      await page.locator('#live-rows tr[data-task-id="from-another-process"]').waitFor();
      await page.click("#pause");
      assert.equal(await page.locator("#pause").getAttribute("aria-pressed"), "true");
      assert.equal((await runFixture("open-and-store.ts", [store.url, "while-paused"])).code, 0);
      await page.locator("#live-status", { hasText: "paused (1 new)" }).waitFor();
      assert.equal(await page.locator('#live-rows tr[data-task-id="while-paused"]').count(), 0);
      await page.click("#pause");
      await page.locator('#live-rows tr[data-task-id="while-paused"]').waitFor();
    });

    it("stored HTML renders as text and runs nothing", { skip }, async () => {
      for (const path of [`tasks/${seeded.xssId}`, "tasks", "", "live"]) {
        await page.goto(`${server.url}${path}`);
        await page.waitForLoadState("load");
      }
      await page.goto(`${server.url}tasks/${seeded.xssId}`);
      assert.equal((await page.locator("#task-fields dd").nth(2).textContent())?.trim(), XSS_NAME);
      assert.ok(((await page.locator("#result pre").textContent()) ?? "").includes(XSS_RESULT));
      assert.equal(await page.locator("img[src=x], svg[onload], main script").count(), 0);
      assert.deepEqual(dialogs, [], "no alert() ran");
    });

    it("with writes off, forget is not offered and the API refuses it", { skip }, async () => {
      await page.goto(`${server.url}tasks/${seeded.failedId}`);
      assert.equal(await page.locator("button[data-action=forget]").count(), 0);
      const status = await page.evaluate(
        async (id) => (await fetch(`/api/tasks/${id}/forget`, { method: "POST" })).status,
        seeded.failedId,
      );
      assert.equal(status, 403);
      assert.equal(await backend.exists(seeded.failedId), true);
    });

    it("with writes on, forget asks for confirmation and then deletes", { skip }, async () => {
      await backend.markAsDone("forget-me", 1);
      const writable = await startWebServer(backend, { port: 0, allowWrites: true });
      const tab = await browser.newPage();
      try {
        tab.on("dialog", (dialog) => void dialog.accept());
        await tab.goto(`${writable.url}tasks/forget-me`);
        await tab.click("button[data-action=forget]");
        await tab.locator("#action-result", { hasText: "forgotten" }).waitFor();
        assert.equal(await backend.exists("forget-me"), false);
      } finally {
        await tab.close();
        await writable.close();
      }
    });

    it("without the token a non-loopback bind refuses; with it, pages and the live feed work", { skip }, async () => {
      const refused = await cli(["--url", store.url, "serve", "--host", "0.0.0.0", "--port", "0"], { env: { TASKLEDGER_SERVE_TOKEN: "" } });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /--token or TASKLEDGER_SERVE_TOKEN/);
      const token = "browser-test-token-0123456789";
      const guarded = await startWebServer(backend, { host: "0.0.0.0", port: 0, token, livePollMs: 250 });
      const tab = await browser.newPage();
      try {
        const base = `http://127.0.0.1:${guarded.port}/`;
        const denied = await tab.goto(`${base}tasks`);
        assert.equal(denied?.status(), 401);
        assert.match((await tab.locator("body").textContent()) ?? "", /token required/);
        await tab.goto(`${base}live?token=${token}`);
        assert.equal(new URL(tab.url()).search, "", "the token leaves the address bar");
        await tab.locator("#live-status", { hasText: "live" }).waitFor();
        assert.equal((await runFixture("open-and-store.ts", [store.url, "behind-token"])).code, 0);
        await tab.locator('#live-rows tr[data-task-id="behind-token"]').waitFor();
      } finally {
        await tab.close();
        await guarded.close();
      }
    });
  });
}
