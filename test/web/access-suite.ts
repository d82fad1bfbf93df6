/**
 * Who gets in, and where a token link sends them: a correct token in the request beats a stale
 * cookie (a restart with a new token, as the README's recipe does), servers on two ports of one
 * host keep their own cookies, and the redirect that takes the token out of the address bar
 * stays on this server whatever the path looks like.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createWebApp, startWebServer } from "../../src/web/server.js";
import { freshStore, skipFor, type Store, type WebTarget } from "./seed.js";

const OLD_TOKEN = "old-token-0123456789";
const NEW_TOKEN = "new-token-9876543210";

/** `name=value` of a response's Set-Cookie. */
function cookieOf(res: Response): string {
  const header = res.headers.get("set-cookie");
  assert.ok(header, "a cookie is set");
  return header.split(";")[0]!;
}

/** A GET with the path sent exactly as given (fetch would normalise `//` and `\`). */
function rawGet(url: string, path: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url), { path }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on("error", reject).end();
  });
}

export function accessSuite(dialect: WebTarget): void {
  describe(`taskledger serve on ${dialect}: tokens and redirects`, async () => {
    const skip = await skipFor(dialect);
    let store: Store;
    let backend: DatabaseBackend;

    before(async () => {
      if (skip) return;
      store = await freshStore(dialect, "web_access");
      backend = await openBackend({ url: store.url });
    });
    after(async () => {
      if (skip) return;
      await backend.close();
      await store.drop();
    });

    it("after a restart with a new token, the new link works though the browser still holds the old cookie", { skip }, async () => {
      const before = createWebApp(backend, { host: "0.0.0.0", token: OLD_TOKEN });
      const stale = cookieOf(await before.request(`http://10.0.0.5:8765/tasks?token=${OLD_TOKEN}`));
      const restarted = createWebApp(backend, { host: "0.0.0.0", token: NEW_TOKEN });
      assert.equal((await restarted.request("http://10.0.0.5:8765/tasks", { headers: { Cookie: stale } })).status, 401);
      const link = await restarted.request(`http://10.0.0.5:8765/tasks?state=FAILURE&token=${NEW_TOKEN}`, { headers: { Cookie: stale } });
      assert.equal(link.status, 303, "the correct token in the link wins over the stale cookie");
      assert.equal(link.headers.get("location"), "/tasks?state=FAILURE");
      const fresh = cookieOf(link);
      assert.equal((await restarted.request("http://10.0.0.5:8765/tasks", { headers: { Cookie: fresh } })).status, 200);
      const api = await restarted.request("http://10.0.0.5:8765/api/tasks", {
        headers: { Cookie: stale, "X-Taskledger-Token": "stale-header-0123456789", Authorization: `Bearer ${NEW_TOKEN}` },
      });
      assert.equal(api.status, 200, "a correct bearer token wins over a stale header and cookie");
    });

    it("two servers on one host keep their own cookies, so neither locks the other out", { skip }, async () => {
      const a = createWebApp(backend, { host: "0.0.0.0", token: OLD_TOKEN });
      const b = createWebApp(backend, { host: "0.0.0.0", token: NEW_TOKEN });
      const forA = cookieOf(await a.request(`http://10.0.0.5:8765/?token=${OLD_TOKEN}`));
      const forB = cookieOf(await b.request(`http://10.0.0.5:9876/?token=${NEW_TOKEN}`));
      const name = (cookie: string) => cookie.split("=")[0];
      assert.notEqual(name(forA), name(forB), "a browser keeps one cookie per name and host, whatever the port");
      assert.match(name(forA)!, /8765/);
      // The browser sends both to either port (cookies do not look at ports).
      const both = `${forA}; ${forB}`;
      assert.equal((await a.request("http://10.0.0.5:8765/tasks", { headers: { Cookie: both } })).status, 200);
      assert.equal((await b.request("http://10.0.0.5:9876/tasks", { headers: { Cookie: both } })).status, 200);
    });

    it("the token link redirects only to a path on this server", { skip }, async () => {
      const app = createWebApp(backend, { host: "0.0.0.0", token: NEW_TOKEN });
      const base = "http://10.0.0.5:8765";
      for (const path of ["//evil.example/x", "/\\evil.example/x", "/%2F%2Fevil.example/x", "/%5Cevil.example/x", "///evil.example/x"]) {
        const res = await app.request(`${base}${path}?a=1&token=${NEW_TOKEN}`);
        assert.equal(res.status, 303, path);
        const location = res.headers.get("location")!;
        assert.match(location, /^\/(?![/\\])/, `${path} -> ${location}: a path, never //host or /\\host`);
        assert.equal(new URL(location, `${base}/`).host, "10.0.0.5:8765", `${path} -> ${location}`);
        assert.match(location, /\?a=1$/, "the other parameters stay");
      }
      // The same through a real socket, where the path arrives exactly as the client wrote it.
      const server = await startWebServer(backend, { host: "127.0.0.1", port: 0, token: NEW_TOKEN });
      try {
        for (const path of ["//evil.example/x", "//evil.example"]) {
          const res = await rawGet(server.url, `${path}?token=${NEW_TOKEN}`);
          assert.equal(res.status, 303, path);
          assert.equal(new URL(res.location!, server.url).host, new URL(server.url).host, `${path} -> ${res.location}`);
        }
        // The node adapter refuses a raw backslash in the request target before any route sees it.
        assert.deepEqual(await rawGet(server.url, `/\\evil.example/x?token=${NEW_TOKEN}`), { status: 400, location: undefined });
      } finally {
        await server.close();
      }
    });
  });
}
