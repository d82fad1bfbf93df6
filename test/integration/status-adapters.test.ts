/**
 * The status handler mounted the ways the README shows, through real sockets: Node's http,
 * Express (which strips its mount path) and Fastify (which does not: basePath), each with
 * @hono/node-server's getRequestListener. A poll answers with the token and 401 without it; the
 * event stream sends the current state and ends after the ready state a later store writes.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { getRequestListener } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createStatusHandler, signStatusToken } from "../../src/http.js";
import { tempDir } from "../helpers/sqlite.js";

const SECRET = "adapter-secret-0123456789abcdef";

interface Mounted {
  base: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const mounts: Record<string, (backend: DatabaseBackend) => Promise<Mounted>> = {
  "Node's http": async (backend) => {
    const listener = getRequestListener(createStatusHandler(backend, { secret: SECRET, exposeResult: true }));
    const server = http.createServer((request, response) => void listener(request, response));
    return { base: await listen(server), close: () => closeServer(server) };
  },
  Express: async (backend) => {
    const app = express();
    app.use("/status", getRequestListener(createStatusHandler(backend, { secret: SECRET, exposeResult: true })));
    const server = http.createServer(app);
    return { base: `${await listen(server)}/status`, close: () => closeServer(server) };
  },
  Fastify: async (backend) => {
    const fastify = Fastify();
    const listener = getRequestListener(createStatusHandler(backend, { secret: SECRET, exposeResult: true, basePath: "/status" }));
    fastify.all("/status/*", (request, reply) => {
      reply.hijack();
      void listener(request.raw, reply.raw);
    });
    const address = await fastify.listen({ port: 0, host: "127.0.0.1" });
    return { base: `${address}/status`, close: () => fastify.close() };
  },
};

describe("the status handler under Node's http, Express and Fastify", () => {
  const dir = tempDir("status-adapters");
  let backend: DatabaseBackend;
  before(async () => {
    backend = await openBackend({ url: `sqlite:${dir.file("status.db")}`, resultExtended: true });
  });
  after(async () => {
    await backend.close();
    dir.remove();
  });

  for (const [name, mount] of Object.entries(mounts)) {
    it(`${name}: a poll answers with a token and 401 without; the stream ends after the ready state`, async () => {
      const mounted = await mount(backend);
      try {
        const id = `${name.replace(/\W/g, "")}-task`;
        await backend.markAsStarted(id);
        const token = signStatusToken(SECRET, id, { ttl: "1m" });
        assert.equal((await fetch(`${mounted.base}/tasks/${id}`)).status, 401);
        const poll = await fetch(`${mounted.base}/tasks/${id}?token=${token}`);
        assert.equal(poll.status, 200);
        assert.equal(((await poll.json()) as { state: string }).state, "STARTED");

        const stream = await fetch(`${mounted.base}/tasks/${id}/events?token=${token}`);
        assert.equal(stream.status, 200);
        assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
        const reader = stream.body!.getReader();
        let text = "";
        const read = async (until: RegExp) => {
          while (!until.test(text)) {
            const { value, done } = await reader.read();
            if (done) break;
            text += new TextDecoder().decode(value);
          }
        };
        await read(/"state":"STARTED"/);
        await backend.markAsDone(id, { rows: 3 });
        await read(/"state":"SUCCESS"/);
        assert.match(text, /"result":\{"rows":3\}/);
        const { done } = await reader.read();
        assert.equal(done, true, "the stream ends after a ready state");
      } finally {
        await mounted.close();
      }
    });
  }
});
