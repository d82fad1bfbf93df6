/** Webhooks: registration, signed delivery from any writer, retries, dead letters, crashes and concurrency. */
import { createWebApp } from "../../src/web/server.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { verifyWebhookSignature } from "../../src/http.js";
import type { PushContext } from "./suite.js";
import { Receiver } from "./receiver.js";

const fast = { interval: 20, backoffBase: 50, backoffMax: 200 };

const WEB_TOKEN = "web-token-for-webhook-tests-0123";

export function webhookSuite(ctx: PushContext): void {
  describe("webhooks", () => {
    it("each ready state is POSTed once, signed over t.body with the webhook's secret, with an idempotency key; unready and unmatched ones are not", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, writer } = await ctx.pair("sign");
      const { secret } = await server.addWebhook({ url: await receiver.start(), match: "reports.*" });
      assert.ok(secret.length >= 32);
      await writer.storeResult("w-1", null, "STARTED", { request: { name: "reports.monthly" } });
      await writer.storeResult("w-1", 7, "SUCCESS", { request: { name: "reports.monthly" } });
      const doneAt = (await server.getTaskMeta("w-1")).dateDone!.toISOString();
      await writer.storeResult("w-2", 7, "SUCCESS", { request: { name: "billing.charge" } });
      await writer.storeResult("w-1", 8, "SUCCESS", { request: { name: "reports.monthly" } }); // ready to ready: no new event
      server.startWebhookDispatcher(fast);
      await receiver.until(() => receiver.deliveries.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(receiver.deliveries.length, 1);
      const [delivery] = receiver.deliveries;
      const body = JSON.parse(delivery!.body);
      assert.equal(body.task_id, "w-1");
      assert.equal(body.state, "SUCCESS");
      assert.equal(body.date_done, doneAt, "the date of the SUCCESS that became ready");
      assert.equal(delivery!.key, body.id);
      assert.match(delivery!.signature, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.equal(verifyWebhookSignature(secret, delivery!.signature, delivery!.body), true);
      assert.equal(
        verifyWebhookSignature(secret, delivery!.signature, delivery!.body.replace("w-1", "w-9")),
        false,
        "a changed body fails",
      );
      assert.equal(verifyWebhookSignature(`${secret}x`, delivery!.signature, delivery!.body), false, "another secret fails");
      assert.equal(
        verifyWebhookSignature(secret, delivery!.signature, delivery!.body, { now: new Date(Date.now() + 3_600_000) }),
        false,
        "an old signature fails",
      );
      assert.ok(!JSON.stringify(await server.listWebhooks()).includes(secret), "the list never shows the secret");
    });

    it("a name glob matches case for case, and % and _ in it are plain characters", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, writer } = await ctx.pair("glob");
      const url = await receiver.start();
      await server.addWebhook({ url, match: "reports.*" });
      await server.addWebhook({ url, match: "pay_100%.?" });
      const names: [string, string][] = [
        ["g-1", "reports.monthly"], // matches reports.*
        ["g-2", "Reports.monthly"], // case differs
        ["g-3", "REPORTS.MONTHLY"],
        ["g-4", "pay_100%.x"], // matches pay_100%.?
        ["g-5", "payX100%.x"], // _ is not a wildcard
        ["g-6", "pay_100abc.x"], // % is not a wildcard
        ["g-7", "pay_100%.xy"], // ? is one character
      ];
      for (const [id, name] of names) await writer.storeResult(id, 1, "SUCCESS", { request: { name } });
      server.startWebhookDispatcher(fast);
      await receiver.until(() => receiver.deliveries.length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(receiver.deliveries.map((d) => JSON.parse(d.body).task_id).sort(), ["g-1", "g-4"]);
    });

    it("a ready state written behind taskledger's back (as Celery writes it) is delivered", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, url } = await ctx.pair("celery");
      await server.addWebhook({ url: await receiver.start(), match: { taskId: "cel-1" } });
      await ctx.execRaw(url, "INSERT INTO celery_taskmeta (id, task_id, status, date_done) VALUES (9001, 'cel-1', 'STARTED', NULL)");
      await ctx.execRaw(
        url,
        "UPDATE celery_taskmeta SET status = 'SUCCESS', date_done = '2026-01-02 03:04:05.000000' WHERE task_id = 'cel-1'",
      );
      server.startWebhookDispatcher(fast);
      await receiver.until(() => receiver.deliveries.length >= 1);
      assert.deepEqual(
        { ...JSON.parse(receiver.deliveries[0]!.body), id: "-" },
        { id: "-", webhook_id: 1, task_id: "cel-1", state: "SUCCESS", date_done: "2026-01-02T03:04:05.000Z" },
      );
    });

    it("a 500 is retried with backoff and delivered; after the bound it is a dead letter, listed, and replayed", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, writer } = await ctx.pair("retry");
      const hook = await server.addWebhook({ url: await receiver.start() });
      receiver.answer = (d) =>
        JSON.parse(d.body).task_id === "r-ok" && receiver.deliveries.filter((x) => x.key === d.key).length >= 2 ? 200 : 500;
      const attempts: string[] = [];
      server.startWebhookDispatcher({ ...fast, maxAttempts: 3, onAttempt: (a) => attempts.push(`${a.taskId}:${a.attempt}:${a.outcome}`) });
      await writer.storeResult("r-ok", 1, "SUCCESS");
      await writer.storeResult("r-dead", 1, "SUCCESS");
      await receiver.until(() => attempts.includes("r-dead:3:dead") && attempts.includes("r-ok:2:delivered"));
      const times = receiver.deliveries.filter((d) => JSON.parse(d.body).task_id === "r-dead").map((d) => d.at);
      assert.equal(times.length, 3, "the bound: three attempts, then no more");
      assert.ok(times[1]! - times[0]! >= 25, `backoff between attempts (${times[1]! - times[0]!} ms)`);
      const dead = await server.deadLetters();
      assert.deepEqual(
        dead.map((d) => [d.taskId, d.state, d.attempts, d.lastError]),
        [["r-dead", "SUCCESS", 3, "HTTP 500"]],
      );
      assert.equal((await server.listWebhooks())[0]!.dead, 1);
      // The web view shows it, and replays it with --allow-writes and the write token.
      const web = createWebApp(server, { allowWrites: true, token: WEB_TOKEN });
      const withToken = { headers: { "X-Taskledger-Token": WEB_TOKEN } };
      const page = await (await web.request("http://127.0.0.1:8765/webhooks", withToken)).text();
      assert.match(page, /<table id="dead-letters">[\s\S]*r-dead[\s\S]*HTTP 500[\s\S]*data-action="replay"/);
      assert.ok(!page.includes(hook.secret), "the page never shows a secret");
      const api = (await (await web.request("http://127.0.0.1:8765/api/webhooks/dead", withToken)).json()) as {
        dead_letters: { id: number; taskId: string }[];
      };
      assert.deepEqual(
        api.dead_letters.map((d) => d.taskId),
        ["r-dead"],
      );
      const readOnly = createWebApp(server, { token: WEB_TOKEN });
      const refused = await readOnly.request(`http://127.0.0.1:8765/api/webhooks/dead/${api.dead_letters[0]!.id}/replay`, {
        method: "POST",
        ...withToken,
      });
      assert.equal(refused.status, 403, "read-only unless --allow-writes");
      receiver.answer = () => 200;
      const replayed = await web.request(`http://127.0.0.1:8765/api/webhooks/dead/${api.dead_letters[0]!.id}/replay`, {
        method: "POST",
        ...withToken,
      });
      assert.equal(replayed.status, 200);
      assert.deepEqual(await replayed.json(), { id: api.dead_letters[0]!.id, replayed: 1 });
      await receiver.until(() => attempts.includes("r-dead:1:delivered"));
      assert.deepEqual(await server.deadLetters(), []);
      const keys = receiver.deliveries.filter((d) => JSON.parse(d.body).task_id === "r-dead").map((d) => d.key);
      assert.equal(new Set(keys).size, 1, "a replay keeps the idempotency key");
      assert.equal(await server.removeWebhooks(hook.id), 1);
      assert.deepEqual(await server.listWebhooks(), []);
    });

    it("kill -9 of the dispatcher mid-delivery loses nothing: the next dispatcher sends every event", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, writer, url } = await ctx.pair("kill");
      await server.addWebhook({ url: await receiver.start() });
      const ids = Array.from({ length: 20 }, (_, i) => `k-${i}`);
      await writer.storeMany(ids.map((taskId) => ({ taskId, status: "SUCCESS" as const, result: 1 })));
      receiver.answer = () => "hang";
      const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./dispatcher-child.ts", import.meta.url)), url], {
        stdio: ["ignore", "inherit", "inherit"],
      });
      t.after(() => child.kill("SIGKILL"));
      await receiver.until(() => receiver.deliveries.length >= 4, 20_000);
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      const before = receiver.deliveries.length;
      assert.ok(before < ids.length, "killed with deliveries outstanding");
      receiver.answer = () => 200;
      server.startWebhookDispatcher(fast);
      await receiver.until(() => ids.every((id) => receiver.answered.has(id)), 20_000);
      // Delivered rows leave the outbox once their claim's batch is done.
      const deadline = Date.now() + 5_000;
      while ((await server.listWebhooks())[0]!.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal((await server.listWebhooks())[0]!.pending, 0);
    });

    it("two dispatchers never deliver the same event twice at once, and one delivers at a time", async (t) => {
      const receiver = new Receiver();
      t.after(() => receiver.close());
      const { server, writer, open } = await ctx.pair("two");
      await server.addWebhook({ url: await receiver.start() });
      receiver.answer = () => new Promise((resolve) => setTimeout(() => resolve(200), 5));
      const other = await open();
      const a = server.startWebhookDispatcher({ ...fast, concurrency: 4 });
      const b = other.startWebhookDispatcher({ ...fast, concurrency: 4 });
      let both = false;
      const watch = setInterval(() => (both ||= a.active && b.active), 2);
      t.after(() => clearInterval(watch));
      const ids = Array.from({ length: 40 }, (_, i) => `two-${i}`);
      for (const chunk of [ids.slice(0, 20), ids.slice(20)])
        await writer.storeMany(chunk.map((taskId) => ({ taskId, status: "SUCCESS" as const, result: 1 })));
      await receiver.until(() => new Set(receiver.deliveries.map((d) => JSON.parse(d.body).task_id)).size === ids.length);
      await a.stop(); // the other takes over
      await writer.storeResult("two-late", 1, "SUCCESS");
      await receiver.until(() => receiver.deliveries.some((d) => JSON.parse(d.body).task_id === "two-late"));
      assert.equal(receiver.maxInFlightPerKey, 1);
      assert.equal(both, false, "never both active");
      assert.equal(receiver.deliveries.length, ids.length + 1, "each event once when nothing failed");
    });
  });
}
