/**
 * The web view's API and pages over HTTP semantics, without a browser: filters and keyset
 * pages, every field of a task, groups, stats, failure groups, export, the live feed, and the
 * safety rules (token, Host, read-only, escaping, CSP, masked credentials, corrupt rows).
 * Requests go through the Hono app in process (app.request), the live feed through a real server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { ConfigError } from "../../src/errors.js";
import { createWebApp, startWebServer } from "../../src/web/server.js";
import { accessSuite } from "./access-suite.js";
import { inputSuite } from "./input-suite.js";
import { liveSuite } from "./live-suite.js";
import { freshStore, openSeeded, skipFor, XSS_NAME, type Seeded, type Store, type WebTarget } from "./seed.js";

const LOCAL = "http://127.0.0.1:8765";

export function webSuite(dialect: WebTarget): void {
  describe(`taskledger serve on ${dialect}`, async () => {
    const skip = await skipFor(dialect);
    let store: Store;
    let backend: DatabaseBackend;
    let seeded: Seeded;
    let app: ReturnType<typeof createWebApp>;
    const get = (path: string, init?: RequestInit) => app.request(`${LOCAL}${path}`, init);
    const json = async (path: string) => {
      const res = await get(path);
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
      return (await res.json()) as Record<string, unknown> & {
        items: { task_id: string; status: string; corrupt: string | null }[];
        next: string | null;
      };
    };

    before(async () => {
      if (skip) return;
      store = await freshStore(dialect, "web_api");
      ({ backend, seeded } = await openSeeded(store));
      app = createWebApp(backend, { host: "127.0.0.1" });
    });
    after(async () => {
      if (skip) return;
      await backend.close();
      await store.drop();
    });

    it("the task list filters by state, name, worker, queue, group and id prefix", { skip }, async () => {
      assert.equal((await json("/api/tasks")).items.length, seeded.total);
      assert.equal((await json("/api/tasks?state=FAILURE")).items.length, seeded.counts["FAILURE"]);
      assert.equal((await json("/api/tasks?state=started")).items.length, seeded.counts["STARTED"]);
      assert.deepEqual(
        (await json("/api/tasks?name=etl.load")).items.map((t) => t.task_id),
        ["fail-2", "fail-1", "fail-0"],
      );
      assert.equal((await json("/api/tasks?worker=w2")).items.length, 3);
      assert.equal((await json("/api/tasks?queue=mail")).items.length, 2);
      assert.deepEqual((await json("/api/tasks?group=grp-1")).items.map((t) => t.task_id).sort(), seeded.groupMembers);
      assert.deepEqual((await json("/api/tasks?id=fail-")).items.map((t) => t.task_id).sort(), ["fail-0", "fail-1", "fail-2", "fail-type"]);
      assert.deepEqual((await json("/api/tasks?id=fail_")).items, [], "an underscore in the prefix matches literally");
      assert.equal((await json("/api/tasks?error=RangeError%3A%20bad%20row%207")).items.length, 3);
      assert.equal((await get("/api/tasks?since=yesterday-ish")).status, 400);
      assert.equal(
        (await get("/api/tasks?since=99999999999d")).status,
        400,
        "a duration reaching before the first date is refused, as in the CLI",
      );
    });

    it("keyset pages stay stable while new rows arrive", { skip }, async () => {
      const first = await json("/api/tasks?limit=5");
      assert.equal(first.items.length, 5);
      assert.ok(first.next !== null);
      await backend.markAsDone("late-arrival", 1);
      const second = await json(`/api/tasks?limit=5&before=${first.next}`);
      const third = await json(`/api/tasks?limit=100&before=${second.next}`);
      const all = [...first.items, ...second.items, ...third.items].map((t) => t.task_id);
      assert.equal(new Set(all).size, seeded.total, "every seeded row exactly once across pages");
      assert.ok(!all.includes("late-arrival"));
      assert.equal(third.next, null);
      assert.equal((await json("/api/tasks?limit=1")).items[0]!.task_id, "late-arrival", "the new row heads the first page");
      await backend.forget("late-arrival");
    });

    it("with an until, pages list by time, newest first, every matching row once, ties and unready rows included", { skip }, async () => {
      const at = (iso: string) => new Date(iso);
      // Stored out of time order, so id order and time order differ; two rows share one date_done.
      await backend.storeMany([{ taskId: "old-b", status: "SUCCESS", result: 1 }], { now: at("2020-03-01T00:00:00.250Z") });
      await backend.storeMany([{ taskId: "old-a", status: "SUCCESS", result: 1 }], { now: at("2020-01-01T00:00:00Z") });
      await backend.storeMany(
        [
          { taskId: "old-tie-1", status: "FAILURE", result: new Error("x") },
          { taskId: "old-tie-2", status: "SUCCESS", result: 2 },
        ],
        { now: at("2020-02-01T12:00:00.123Z") },
      );
      await backend.storeMany([{ taskId: "old-unready", status: "STARTED" }], { now: at("2020-02-15T00:00:00Z") });
      await backend.storeMany([{ taskId: "newer", status: "SUCCESS", result: 3 }], { now: at("2021-06-01T00:00:00Z") });
      try {
        const seen: string[] = [];
        let path = "/api/tasks?until=2021-01-01T00:00:00Z&limit=2";
        for (let pages = 0; pages < 10; pages++) {
          const page = await json(path);
          seen.push(...page.items.map((t) => t.task_id));
          if (page.next === null) break;
          path = `/api/tasks?until=2021-01-01T00:00:00Z&limit=2&before=${encodeURIComponent(String(page.next))}`;
        }
        const tie = (await backend.audit.list({ idPrefix: "old-tie-" }, { order: "oldest" })).map((e) => e.row.taskId);
        assert.deepEqual(
          seen,
          ["old-b", "old-unready", ...tie.reverse(), "old-a"],
          "newest first by time, a tie by id, unready by its last write",
        );
        assert.equal(
          (await get("/api/tasks?until=2021-01-01T00:00:00Z&before=12")).status,
          400,
          "an id cursor is not a cursor of a time listing",
        );
        assert.equal((await get("/api/tasks?before=2020-01-01%2000:00:00/12")).status, 400, "nor a time cursor of an id listing");
      } finally {
        await backend.forget(["old-a", "old-b", "old-tie-1", "old-tie-2", "old-unready", "newer"]);
      }
    });

    it("one task's JSON has every field, its exception, traceback and its state history", { skip }, async () => {
      const task = await json(`/api/tasks/${seeded.failedId}`);
      assert.equal(task["status"], "FAILURE");
      assert.equal(task["name"], "etl.load");
      assert.equal(task["worker"], "w2");
      assert.equal(task["queue"], "etl");
      assert.deepEqual(task["exception"], { type: "RangeError", message: "bad row 7" });
      assert.match(String(task["traceback"]), /line 40, in load/);
      // The history triggers kept the one state change the seed made.
      const history = task["history"] as {
        taskId: string;
        status: string;
        worker: string;
        error: { type: string; message: string } | null;
      }[];
      assert.deepEqual(
        history.map((e) => [e.taskId, e.status, e.worker, e.error]),
        [[seeded.failedId, "FAILURE", "w2", { type: "RangeError", message: "bad row 7" }]],
      );
      assert.equal((await get("/api/tasks/no-such-task")).status, 404);
    });

    it("a corrupt row shows as corrupt in place in the list, its page and its JSON", { skip }, async () => {
      const listed = (await json("/api/tasks")).items.find((t) => t.task_id === seeded.corruptId)!;
      assert.match(String(listed.corrupt), /result/);
      const detail = await json(`/api/tasks/${seeded.corruptId}`);
      assert.equal(detail["status"], "SUCCESS");
      assert.ok(detail["corrupt"]);
      const page = await (await get(`/tasks/${seeded.corruptId}`)).text();
      assert.match(page, /Corrupt row/);
      assert.match(await (await get("/tasks")).text(), /corrupt: /);
      assert.equal((await get("/api/export?format=jsonl")).status, 200);
    });

    it("a group answers with its members' states and progress", { skip }, async () => {
      const group = await json(`/api/groups/${seeded.groupId}`);
      assert.equal(group["saved"], true);
      assert.deepEqual(group["counts"], { SUCCESS: 1, FAILURE: 1, STARTED: 1 });
      assert.equal(group["ready"], 2);
      assert.equal(group["total"], 3);
      assert.match(await (await get(`/groups/${seeded.groupId}`)).text(), /<progress id="group-progress" max="3" value="2">/);
    });

    it("stats and failure groups count the seeded rows", { skip }, async () => {
      const stats = await json("/api/stats?range=24h");
      assert.equal(stats["total"], seeded.total);
      const byState = Object.fromEntries((stats["byState"] as { key: string; count: number }[]).map((e) => [e.key, e.count]));
      assert.deepEqual(byState, seeded.counts);
      const finished = (stats["timeline"] as { count: number }[]).reduce((sum, b) => sum + b.count, 0);
      assert.equal(finished, seeded.counts["SUCCESS"]! + seeded.counts["FAILURE"]!);
      const failures = (await json("/api/failures")) as unknown as {
        groups: { type: string; message: string; count: number; names: string[] }[];
      };
      assert.deepEqual(failures.groups[0], {
        ...failures.groups[0],
        type: "RangeError",
        message: "bad row 7",
        count: 3,
        names: ["etl.load"],
      });
    });

    it("export streams the filtered set as CSV and JSON lines", { skip }, async () => {
      const csv = await (await get("/api/export?format=csv&state=SUCCESS&name=reports.generate")).text();
      const lines = csv.trim().split("\n");
      assert.match(lines[0]!, /^task_id,status,name/);
      assert.equal(lines.length, 1 + 6);
      assert.match(lines[1]!, /^ok-0,SUCCESS,reports\.generate,w1,default,/);
      const res = await get("/api/export?name=etl.load");
      assert.match(res.headers.get("content-disposition") ?? "", /attachment/);
      assert.equal((await res.text()).trim().split("\n").length, 3);
    });

    it("stored HTML renders as text under a CSP that forbids inline script", { skip }, async () => {
      for (const path of ["/", "/tasks", `/tasks/${seeded.xssId}`, "/live"]) {
        const res = await get(path);
        const body = await res.text();
        assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/, path);
        assert.doesNotMatch(res.headers.get("content-security-policy") ?? "", /unsafe-inline/);
        assert.ok(
          !body.includes(XSS_NAME) && !body.includes("<script>alert") && !body.includes("<svg onload"),
          `${path} holds a raw stored tag`,
        );
        assert.ok(!/<script(?![^>]*\bsrc=)(?![^>]*type="application\/json")/.test(body), `${path} has an inline script`);
      }
      assert.ok((await (await get(`/tasks/${seeded.xssId}`)).text()).includes("&lt;img src=x onerror=alert(1)&gt;"));
    });

    it("no password from the database URL appears in any page or API response", { skip }, async () => {
      for (const path of [
        "/",
        "/tasks",
        `/tasks/${seeded.failedId}`,
        `/groups/${seeded.groupId}`,
        "/live",
        "/api/tasks",
        "/api/stats",
        "/api/failures",
        "/api/export",
        "/api/nope",
      ]) {
        const body = await (await get(path)).text();
        assert.ok(!body.includes("s3cret-pw"), `${path} shows the password`);
      }
    });

    it("read-only by default: no forget button, and the API refuses writes", { skip }, async () => {
      assert.doesNotMatch(await (await get(`/tasks/${seeded.failedId}`)).text(), /data-action="forget"/);
      const refused = await get(`/api/tasks/${seeded.failedId}/forget`, { method: "POST" });
      assert.equal(refused.status, 403);
      assert.match(((await refused.json()) as { error: string }).error, /--allow-writes/);
      assert.equal((await json(`/api/tasks/${seeded.failedId}`))["status"], "FAILURE");
    });

    it("with --allow-writes, forget needs the write token header and then deletes", { skip }, async () => {
      await backend.markAsDone("to-forget", 1);
      const writable = createWebApp(backend, { host: "127.0.0.1", allowWrites: true });
      const page = await (await writable.request(`${LOCAL}/tasks/to-forget`)).text();
      assert.match(page, /data-action="forget"/);
      const token = /name="taskledger-write-token" content="([^"]+)"/.exec(page)![1]!;
      assert.equal((await writable.request(`${LOCAL}/api/tasks/to-forget/forget`, { method: "POST" })).status, 403);
      assert.equal(
        (
          await writable.request(`${LOCAL}/api/tasks/to-forget/forget`, {
            method: "POST",
            headers: { "X-Taskledger-Token": token, Origin: "http://evil.example" },
          })
        ).status,
        403,
      );
      const done = await writable.request(`${LOCAL}/api/tasks/to-forget/forget`, {
        method: "POST",
        headers: { "X-Taskledger-Token": token },
      });
      assert.deepEqual(await done.json(), { task_id: "to-forget", forgotten: true });
      assert.equal(await backend.exists("to-forget"), false);
    });

    it("a non-loopback bind refuses to start without a token, and then checks it on every request", { skip }, async () => {
      assert.throws(
        () => createWebApp(backend, { host: "0.0.0.0" }),
        (e: unknown) => e instanceof ConfigError && /token/.test(e.message),
      );
      const token = "t0ken-t0ken-t0ken-123";
      const guarded = createWebApp(backend, { host: "0.0.0.0", token });
      for (const path of ["/", "/tasks", "/api/tasks", "/api/events", "/assets/app.js", "/api/export"]) {
        assert.equal((await guarded.request(`http://10.0.0.5:8765${path}`)).status, 401, path);
      }
      assert.equal(
        (await guarded.request("http://10.0.0.5:8765/api/tasks", { headers: { Authorization: `Bearer ${token}` } })).status,
        200,
      );
      assert.equal(
        (await guarded.request("http://10.0.0.5:8765/api/tasks", { headers: { "X-Taskledger-Token": "wrong-wrong-wrong-wrong" } })).status,
        401,
      );
      const link = await guarded.request(`http://10.0.0.5:8765/tasks?state=FAILURE&token=${token}`);
      assert.equal(link.status, 303);
      assert.equal(link.headers.get("location"), "/tasks?state=FAILURE");
      const cookie = link.headers.get("set-cookie")!.split(";")[0]!;
      assert.equal((await guarded.request("http://10.0.0.5:8765/tasks", { headers: { Cookie: cookie } })).status, 200);
    });

    it("on loopback, a request naming another host is refused (DNS rebinding)", { skip }, async () => {
      assert.equal((await app.request("http://evil.example:8765/api/tasks")).status, 421);
      assert.equal((await app.request("http://localhost:8765/api/tasks")).status, 200);
    });

    it("the live feed sends a result committed through another connection", { skip }, async () => {
      const server = await startWebServer(backend, { port: 0, livePollMs: 200 });
      const other = await openBackend({ url: store.url, migrate: false });
      const controller = new AbortController();
      try {
        const res = await fetch(`${server.url}api/events`, { signal: controller.signal });
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("event: ready")) text += (await reader.read()).value ?? "";
        await other.markAsDone("live-1", 42, { request: { name: "live.task" } });
        while (!text.includes('"task_id":"live-1"')) {
          const chunk = await reader.read();
          assert.ok(!chunk.done, "stream ended before the task arrived");
          text += chunk.value;
        }
        assert.match(text, /event: task\ndata: \{"task_id":"live-1","status":"SUCCESS"/);
      } finally {
        controller.abort();
        await other.close();
        await server.close();
      }
    });
  });
  inputSuite(dialect);
  accessSuite(dialect);
  liveSuite(dialect);
}
