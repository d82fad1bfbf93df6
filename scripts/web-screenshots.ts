/**
 * Refreshes the README's screenshots of `taskledger serve` (docs/web-overview.png, docs/web-task.png):
 * a day of made-up results in a temporary SQLite file, the server on a free port, Debian's
 * Chromium through playwright-core. Run: npm run screenshots
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { openBackend, type StoreItem } from "../src/index.js";
import { startWebServer } from "../src/web/server.js";

const NAMES = ["reports.generate", "billing.charge", "etl.load", "mail.send", "images.resize", "search.reindex"];
const WORKERS = ["celery@worker1", "celery@worker2", "celery@worker3", "celery@batch1"];
const ERRORS = [
  () => new RangeError("row 7 out of range"),
  () => new TypeError("expected str, got None"),
  () => new Error("connection reset by peer"),
];

const dir = mkdtempSync(join(tmpdir(), "taskledger-screens-"));
const backend = await openBackend({ url: join(dir, "demo.db"), resultExtended: true });
let failedId = "";
try {
  const now = Date.now();
  let n = 0;
  for (let hour = 24; hour >= 0; hour--) {
    const items: StoreItem[] = [];
    const busy = 40 + Math.round(30 * Math.sin(hour / 3.5) ** 2) + (hour < 4 ? 30 : 0);
    for (let i = 0; i < busy; i++, n++) {
      const name = NAMES[(n * 7) % NAMES.length]!;
      const failed = (n % 17 === 3 && hour > 2) || (hour === 9 && i % 4 === 0);
      const retry = !failed && n % 41 === 5;
      const taskId = `${(0x10000000 + n * 2654435761).toString(16).slice(-8)}-${(n * 40503).toString(16).padStart(4, "0").slice(-4)}-4c${(n % 97).toString(16).padStart(2, "0")}-9b1e-${(n * 2246822519).toString(16).padStart(12, "0").slice(-12)}`;
      const request = {
        name,
        worker: WORKERS[n % WORKERS.length]!,
        queue: name.split(".")[0]!,
        args: [n],
        kwargs: { tenant: `t${n % 5}` },
        retries: retry ? 1 : 0,
      };
      if (failed) {
        const error = ERRORS[n % ERRORS.length]!();
        items.push({
          taskId,
          status: "FAILURE",
          result: error,
          traceback: `Traceback (most recent call last):\n  File "/srv/app/tasks/${name.split(".")[0]}.py", line ${40 + (n % 30)}, in ${name.split(".")[1]}\n    rows = load(batch)\n  File "/srv/app/lib/db.py", line 118, in load\n    raise ${error.name}(${JSON.stringify(error.message)})\n${error.name}: ${error.message}`,
          request,
        });
        if (!failedId && error instanceof RangeError && hour < 8) failedId = taskId;
      } else if (retry) items.push({ taskId, status: "RETRY", result: new Error("rate limited; retrying in 30 s"), request });
      else
        items.push({
          taskId,
          status: hour === 0 && i % 9 === 0 ? "STARTED" : "SUCCESS",
          result: { rows: (n * 37) % 5000, file: `s3://reports/${n}.csv` },
          request,
        });
    }
    await backend.storeMany(items, { now: new Date(now - hour * 3_600_000 - 60_000) });
  }
  const server = await startWebServer(backend, { port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env["TASKLEDGER_CHROMIUM"] ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const docs = (name: string) => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));
    await page.goto(`${server.url}?range=24h`);
    await page.locator("#chart-finished canvas").first().waitFor();
    await page.screenshot({ path: docs("web-overview.png"), fullPage: true });
    await page.goto(`${server.url}tasks/${failedId}`);
    await page.screenshot({ path: docs("web-task.png"), fullPage: true });
    process.stderr.write(`wrote docs/web-overview.png and docs/web-task.png (${n} tasks)\n`);
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}
