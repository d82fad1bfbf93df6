/**
 * What the web view does with awkward input: id prefixes holding LIKE's wildcards (in both tiers),
 * NUL bytes and ids longer than their column. Each gets an answer a client can act on (a match,
 * 400, 404), never a 500 from the database. Its own store, since it makes the archive.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createWebApp } from "../../src/web/server.js";
import { freshStore, skipFor, type Store, type WebTarget } from "./seed.js";

const LOCAL = "http://127.0.0.1:8765";
const DAY = 86_400_000;
/** Each prefix, and the ids that start with it literally (first) or only if it were a pattern. */
const PREFIXES: [prefix: string, literal: string, patternOnly: string][] = [
  ["p%", "p%1", "pX1"],
  ["u_", "u_1", "uX1"],
  ["b\\", "b\\1", "bX1"],
  ["e\\%", "e\\%1", "e\\X1"],
];

export function inputSuite(dialect: WebTarget): void {
  describe(`taskledger serve on ${dialect}: awkward input`, async () => {
    const skip = await skipFor(dialect);
    let store: Store;
    let backend: DatabaseBackend;
    let app: ReturnType<typeof createWebApp>;
    const get = (path: string, init?: RequestInit) => app.request(`${LOCAL}${path}`, init);

    before(async () => {
      if (skip) return;
      store = await freshStore(dialect, "web_input");
      backend = await openBackend({ url: store.url, resultExtended: true, resultExpires: null });
      app = createWebApp(backend, { host: "127.0.0.1" });
    });
    after(async () => {
      if (skip) return;
      await backend.close();
      await store.drop();
    });

    it("an id prefix holding %, _ or \\ matches literally and only literally, archived rows included", { skip }, async () => {
      const ids = (tier: string) => PREFIXES.flatMap(([, literal, patternOnly]) => [tier + literal, tier + patternOnly]);
      await backend.storeMany(
        ids("old-").map((taskId) => ({ taskId, status: "SUCCESS", result: 1 })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
      await backend.createArchive();
      assert.equal((await backend.cleanup({ archiveAfter: "7d" })).archived, PREFIXES.length * 2);
      await backend.storeMany(ids("new-").map((taskId) => ({ taskId, status: "SUCCESS", result: 1 })));
      for (const tier of ["new-", "old-"]) {
        for (const [prefix, literal] of PREFIXES) {
          const listed = await backend.audit.list({ idPrefix: tier + prefix });
          assert.deepEqual(
            listed.map((e) => e.row.taskId),
            [tier + literal],
            `audit.list({ idPrefix: ${JSON.stringify(tier + prefix)} })`,
          );
          const res = await get(`/api/tasks?id=${encodeURIComponent(tier + prefix)}`);
          assert.equal(res.status, 200);
          const body = (await res.json()) as { items: { task_id: string }[] };
          assert.deepEqual(
            body.items.map((t) => t.task_id),
            [tier + literal],
            `?id=${tier + prefix}`,
          );
        }
      }
      assert.equal(await backend.audit.count({ idPrefix: "%" }), 0, "a lone % is a literal %, not everything");
    });

    it("a NUL byte in a filter, an id or a path answers 400 saying so", { skip }, async () => {
      for (const path of [
        "/api/tasks?name=a%00b",
        "/api/tasks?id=a%00",
        "/api/tasks?group=g%00",
        "/api/export?worker=%00",
        "/api/events?queue=q%00",
        "/api/stats?name=%00",
        "/api/tasks/a%00b",
        "/api/groups/g%00",
        "/tasks?name=a%00b",
        "/tasks/a%00b",
        "/groups/g%00",
      ]) {
        const res = await get(path);
        assert.equal(res.status, 400, `${path}: ${await res.clone().text()}`);
        assert.match(await res.text(), /NUL/, path);
      }
    });

    it("a task or group id longer than its column is a bad request, not a server error", { skip }, async () => {
      const long = "x".repeat(200);
      for (const path of [`/api/tasks/${long}`, `/tasks/${long}`, `/api/groups/${long}`, `/groups/${long}`]) {
        const res = await get(path);
        assert.equal(res.status, 400, `${path.slice(0, 20)}…: ${await res.clone().text()}`);
        assert.match(await res.text(), /155/, "the message names the column's limit");
      }
      const filtered = await get(`/api/tasks?group=${long}&id=${long}`);
      assert.equal(filtered.status, 200, "as a filter it matches nothing");
      assert.deepEqual(((await filtered.json()) as { items: unknown[] }).items, []);
    });
  });
}
