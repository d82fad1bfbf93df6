/** The status handler: tokens, polling with ETags, and event streams, on any dialect. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createStatusHandler, signStatusToken } from "../../src/http.js";
import { checkStatusToken } from "../../src/web/status/token.js";
import type { PushContext } from "./suite.js";
import { SseReader } from "./sse.js";

const SECRET = "status-secret-for-tests-0123456789";
const base = "http://app.test";

export function statusSuite(ctx: PushContext): void {
  describe("status handler", () => {
    it("nothing is readable without authorisation: missing, tampered, expired and other-task tokens are 401", async () => {
      const { server } = await ctx.pair("auth");
      await server.storeResult("auth-a", 42, "SUCCESS");
      const handler = createStatusHandler(server, { secret: SECRET, exposeResult: true });
      const good = signStatusToken(SECRET, "auth-a", { ttl: "1m" });
      const other = signStatusToken(SECRET, "auth-b");
      const [expires, id] = good.split(".");
      const tampered = `${expires}.${Buffer.from("auth-b").toString("base64url")}.${good.split(".")[2]}`;
      const expired = signStatusToken(SECRET, "auth-a", { ttl: 1_000, now: new Date(Date.now() - 60_000) });
      assert.equal(checkStatusToken(SECRET, tampered, "auth-b"), "tampered");
      assert.equal(checkStatusToken(SECRET, expired, "auth-a"), "expired");
      assert.equal(checkStatusToken(SECRET, other, "auth-a"), "other-task");
      assert.ok(id);
      for (const [label, url, headers] of [
        ["missing", `${base}/tasks/auth-a`, {}],
        ["other task", `${base}/tasks/auth-a?token=${other}`, {}],
        ["tampered", `${base}/tasks/auth-b?token=${tampered}`, {}],
        ["expired", `${base}/tasks/auth-a`, { authorization: `Bearer ${expired}` }],
        ["wrong secret", `${base}/tasks/auth-a?token=${signStatusToken(`${SECRET}x`, "auth-a")}`, {}],
        ["events, missing", `${base}/tasks/auth-a/events`, {}],
      ] as const) {
        const response = await handler(new Request(url, { headers }));
        assert.equal(response.status, 401, label);
        const text = await response.text();
        assert.doesNotMatch(text, /42/, `${label}: no result leaks`);
        assert.ok(!text.includes(SECRET), `${label}: the secret never appears`);
      }
      const ok = await handler(new Request(`${base}/tasks/auth-a`, { headers: { authorization: `Bearer ${good}` } }));
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("access-control-allow-origin"), null, "no CORS unless configured");
      assert.deepEqual(await ok.json(), {
        task_id: "auth-a",
        state: "SUCCESS",
        ready: true,
        date_done: (await server.getTaskMeta("auth-a")).dateDone!.toISOString(),
        result: 42,
      });
    });

    it("the application's authorize hook opens a task without a token, and only the ids it says yes to", async () => {
      const { server } = await ctx.pair("hook");
      const handler = createStatusHandler(server, {
        secret: SECRET,
        authorize: (request, id) => request.headers.get("x-user") === "ann" && id === "hook-1",
      });
      assert.equal((await handler(new Request(`${base}/tasks/hook-1`, { headers: { "x-user": "ann" } }))).status, 200);
      assert.equal((await handler(new Request(`${base}/tasks/hook-2`, { headers: { "x-user": "ann" } }))).status, 401);
      assert.equal((await handler(new Request(`${base}/tasks/hook-1`, { headers: { "x-user": "bob" } }))).status, 401);
    });

    it("an unchanged poll answers 304 with the same ETag, and a change answers 200 with a new one; never cached", async () => {
      const { server, writer } = await ctx.pair("etag");
      await writer.storeResult("etag-1", null, "STARTED");
      const handler = createStatusHandler(server, { secret: SECRET, basePath: "/status" });
      const token = signStatusToken(SECRET, "etag-1");
      const get = (etag?: string) =>
        handler(new Request(`${base}/status/tasks/etag-1?token=${token}`, { headers: etag ? { "if-none-match": etag } : {} }));
      const first = await get();
      assert.equal(first.status, 200);
      assert.equal(first.headers.get("cache-control"), "no-store");
      const etag = first.headers.get("etag")!;
      assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
      assert.equal(((await first.json()) as { state: string }).state, "STARTED");
      const again = await get(etag);
      assert.equal(again.status, 304);
      assert.equal(again.headers.get("etag"), etag);
      assert.equal(await again.text(), "");
      await writer.storeResult("etag-1", { rows: 3 }, "SUCCESS");
      const changed = await get(etag);
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get("etag"), etag);
      const body = (await changed.json()) as Record<string, unknown>;
      assert.equal(body["state"], "SUCCESS");
      assert.equal("result" in body, false, "results stay hidden unless exposeResult allows them");
      assert.equal((await handler(new Request(`${base}/tasks/etag-1?token=${token}`))).status, 404, "outside basePath");
    });

    it("a failure exposes the error's type and message, never its traceback, when the application allows it", async () => {
      const { server } = await ctx.pair("fail");
      await server.markAsFailure("fail-1", new RangeError("month out of range"), { traceback: "Traceback: secret frames" });
      const handler = createStatusHandler(server, { secret: SECRET, exposeResult: (meta) => meta.taskId === "fail-1" });
      const response = await handler(new Request(`${base}/tasks/fail-1?token=${signStatusToken(SECRET, "fail-1")}`));
      const body = (await response.json()) as Record<string, unknown>;
      assert.deepEqual(body["error"], { type: "RangeError", message: "month out of range" });
      assert.doesNotMatch(JSON.stringify(body), /secret frames/);
    });

    it("an event stream sends the current state, then each change by another writer in order, and ends after a ready state", async () => {
      const { server, writer } = await ctx.pair("stream");
      await writer.storeResult("st-1", null, "RECEIVED");
      const handler = createStatusHandler(server, { secret: SECRET, exposeResult: true });
      const response = await handler(new Request(`${base}/tasks/st-1/events?token=${signStatusToken(SECRET, "st-1")}`));
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type")!, /^text\/event-stream/);
      const sse = new SseReader(response);
      await sse.until(1);
      await ctx.waiters(server, 1);
      await writer.storeResult("st-1", null, "STARTED");
      await writer.storeResult("st-1", null, "RETRY");
      await writer.storeResult("st-1", null, "STARTED");
      await writer.storeResult("st-1", "done", "SUCCESS");
      await sse.end();
      const states = sse.events.map((e) => (e.data as { state: string }).state);
      assert.deepEqual(states, ["RECEIVED", "STARTED", "RETRY", "STARTED", "SUCCESS"]);
      const ids = sse.events.map((e) => Number(e.id));
      assert.deepEqual(
        [...ids].sort((a, b) => a - b),
        ids,
        "event ids grow",
      );
      assert.equal(new Set(ids.slice(1)).size, 4, "one id per change");
      assert.equal((sse.events.at(-1)!.data as { result: string }).result, "done");
    });

    it("an unready change by another writer wakes an open stream at once, not at the next re-check", async () => {
      const { server, writer } = await ctx.pair("unready");
      await writer.storeResult("un-1", null, "RECEIVED");
      // A re-check far beyond the test's wait: only the change hub can deliver these events in time.
      const handler = createStatusHandler(server, { secret: SECRET, recheck: "1h" });
      const sse = new SseReader(await handler(new Request(`${base}/tasks/un-1/events?token=${signStatusToken(SECRET, "un-1")}`)));
      await sse.until(1);
      await ctx.waiters(server, 1);
      await writer.storeResult("un-1", null, "STARTED");
      await sse.until(2, 3_000);
      await writer.storeResult("un-1", null, "RETRY", { request: { retries: 1 } });
      await sse.until(3, 3_000);
      assert.deepEqual(
        sse.events.map((e) => (e.data as { state: string }).state),
        ["RECEIVED", "STARTED", "RETRY"],
      );
      await writer.storeResult("un-1", 1, "SUCCESS");
      await sse.end(3_000);
    });

    it("a reconnect with Last-Event-ID resumes without a gap, and a stream of a finished task answers 204", async () => {
      const { server, writer } = await ctx.pair("resume");
      await writer.storeResult("rs-1", null, "STARTED");
      const handler = createStatusHandler(server, { secret: SECRET });
      const token = signStatusToken(SECRET, "rs-1");
      const first = new SseReader(await handler(new Request(`${base}/tasks/rs-1/events?token=${token}`)));
      await first.until(1);
      await ctx.waiters(server, 1);
      await writer.storeResult("rs-1", null, "RETRY");
      await first.until(2);
      await first.cancel();
      const lastId = first.events.at(-1)!.id!;
      // While the browser is away: three changes.
      await writer.storeResult("rs-1", null, "STARTED");
      await writer.storeResult("rs-1", null, "RETRY");
      await writer.storeResult("rs-1", null, "STARTED");
      const second = new SseReader(
        await handler(new Request(`${base}/tasks/rs-1/events?token=${token}`, { headers: { "last-event-id": lastId } })),
      );
      await second.until(3);
      assert.deepEqual(
        second.events.map((e) => (e.data as { state: string }).state),
        ["STARTED", "RETRY", "STARTED"],
        "exactly the changes after the last event, nothing sent twice",
      );
      await ctx.waiters(server, 1);
      await writer.storeResult("rs-1", 1, "SUCCESS");
      await second.end();
      assert.equal((second.events.at(-1)!.data as { state: string }).state, "SUCCESS");
      const ended = await handler(
        new Request(`${base}/tasks/rs-1/events?token=${token}`, { headers: { "last-event-id": second.events.at(-1)!.id! } }),
      );
      assert.equal(ended.status, 204, "EventSource stops reconnecting");
    });

    it("a group id streams its members' progress and ends once all are ready", async () => {
      const { server, writer } = await ctx.pair("group");
      await server.saveGroup("grp-1", ["gm-1", "gm-2"]);
      const handler = createStatusHandler(server, { secret: SECRET });
      const token = signStatusToken(SECRET, "grp-1");
      const polled = (await (await handler(new Request(`${base}/tasks/grp-1?token=${token}`))).json()) as { members: unknown[] };
      assert.deepEqual(
        { ...polled, members: polled.members.length },
        { group_id: "grp-1", ready: false, completed: 0, total: 2, members: 2 },
      );
      const sse = new SseReader(await handler(new Request(`${base}/tasks/grp-1/events?token=${token}`)));
      await sse.until(1);
      await ctx.waiters(server, 1);
      await writer.storeResult("gm-1", null, "STARTED");
      await writer.storeResult("gm-1", 1, "SUCCESS");
      await writer.storeResult("gm-2", 2, "SUCCESS");
      await sse.end();
      assert.deepEqual(
        sse.events.map((e) => [
          e.event,
          (e.data as { task_id?: string; state?: string; completed: number }).task_id ?? "",
          e.data && (e.data as { completed: number }).completed,
        ]),
        [
          ["group", "", 0],
          ["member", "gm-1", 0],
          ["member", "gm-1", 1],
          ["member", "gm-2", 2],
        ],
      );
      assert.equal(
        (await handler(new Request(`${base}/tasks/gm-1?token=${token}`))).status,
        401,
        "a group's token opens the group, not its members",
      );
    });

    it("CORS headers only for configured origins", async () => {
      const { server } = await ctx.pair("cors");
      const token = signStatusToken(SECRET, "c-1");
      const handler = createStatusHandler(server, { secret: SECRET, cors: { origins: ["https://ok.example"] } });
      const ok = await handler(new Request(`${base}/tasks/c-1?token=${token}`, { headers: { origin: "https://ok.example" } }));
      assert.equal(ok.headers.get("access-control-allow-origin"), "https://ok.example");
      const no = await handler(new Request(`${base}/tasks/c-1?token=${token}`, { headers: { origin: "https://evil.example" } }));
      assert.equal(no.headers.get("access-control-allow-origin"), null);
    });
  });
}
