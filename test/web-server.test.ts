/**
 * The web server's sockets (dialect-free, so on one SQLite file): a client that connects and never
 * sends a whole request is let go within seconds, not after Node's 60 s header default, while a
 * response that streams (the live feed) goes on.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../src/index.js";
import { startWebServer, type WebServer } from "../src/web/server.js";
import { tempDir, type TempDir } from "./helpers/sqlite.js";

/** Resolves with how long the server took to close the socket after it connected. */
function closedAfter(socket: Socket): Promise<number> {
  const start = Date.now();
  return new Promise((resolve) => {
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(Date.now() - start));
  });
}

describe("taskledger serve sockets", () => {
  let dir: TempDir;
  let backend: DatabaseBackend;
  let server: WebServer;
  before(async () => {
    dir = tempDir("web_server");
    backend = await openBackend({ url: `sqlite:${dir.file("web.db")}` });
    server = await startWebServer(backend, { port: 0 });
  });
  after(async () => {
    await server.close();
    await backend.close();
    dir.remove();
  });

  it("a socket that never finishes its request, or never sends one, is closed well before Node's 60 s", { timeout: 45_000 }, async () => {
    const feed = new AbortController();
    const events = await fetch(`${server.url}api/events`, { signal: feed.signal });
    let feedEnded = false;
    void events
      .body!.pipeTo(new WritableStream())
      .finally(() => (feedEnded = true))
      .catch(() => undefined);
    const silent = connect(server.port, "127.0.0.1");
    const partial = connect(server.port, "127.0.0.1", () => partial.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    const [silentMs, partialMs] = await Promise.all([closedAfter(silent), closedAfter(partial)]);
    assert.ok(silentMs < 30_000, `an idle socket was held ${silentMs} ms`);
    assert.ok(partialMs < 30_000, `a half-sent request was held ${partialMs} ms`);
    assert.equal(feedEnded, false, "only the request is timed: the live feed's response goes on");
    feed.abort();
  });
});
