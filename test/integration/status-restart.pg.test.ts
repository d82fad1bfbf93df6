/**
 * A status stream across a PostgreSQL restart: a browser's event stream stays open while the
 * server is stopped and started again (its LISTEN connection dies with it), and every change
 * committed afterwards still arrives, in order, without a gap; a browser that reconnects during
 * the outage with Last-Event-ID gets exactly what it missed. On a throwaway cluster of its own.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createStatusHandler, signStatusToken } from "../../src/http.js";
import { pgServerBin, startThrowawayCluster, type ThrowawayCluster } from "../helpers/pg-cluster.js";
import { SseReader } from "../push/sse.js";

const PORT = Number(process.env["TASKLEDGER_TEST_STREAM_RESTART_PORT"] ?? 29085);
const SECRET = "restart-secret-0123456789abcdef";
const unavailable = pgServerBin() === undefined ? "no PostgreSQL server binaries (initdb, pg_ctl) on this machine" : undefined;
if (unavailable && process.env["CI"] === "true") throw new Error(`the stream restart test is mandatory under CI=true: ${unavailable}`);
if (unavailable) console.log(`# stream restart test skipped: ${unavailable}`);

const states = (reader: SseReader) => reader.events.map((e) => (e.data as { state: string }).state);

describe("status streams across a PostgreSQL restart", { skip: unavailable ?? false }, () => {
  let cluster: ThrowawayCluster;
  let server: DatabaseBackend;
  let writer: DatabaseBackend;
  before(async () => {
    cluster = await startThrowawayCluster({ port: PORT, fresh: true });
    server = await openBackend({ url: cluster.url });
    writer = await openBackend({ url: cluster.url, migrate: false });
  });
  after(async () => {
    await writer?.close();
    await server?.close();
    await cluster?.remove();
  });

  it("an open stream gets every change committed after the restart, and a reconnect resumes without a gap", async () => {
    const handler = createStatusHandler(server, { secret: SECRET, recheck: "500ms" });
    const token = signStatusToken(SECRET, "rst-1");
    await writer.storeResult("rst-1", null, "STARTED");
    const open = new SseReader(await handler(new Request(`http://app.test/tasks/rst-1/events?token=${token}`)));
    await open.until(1);
    await cluster.stopServer("fast");
    await cluster.startServer();
    // The writer retries through its budget; the stream's listener reconnects on its own.
    await writer.storeResult("rst-1", null, "RETRY");
    await open.until(2, 15_000);
    await writer.storeResult("rst-1", null, "STARTED");
    await open.until(3, 15_000);
    assert.deepEqual(states(open), ["STARTED", "RETRY", "STARTED"], "every change after the restart, in order");

    // A browser that lost its stream in the outage reconnects with the last id it saw.
    const lastId = open.events.at(-1)!.id!;
    await open.cancel();
    await cluster.stopServer("immediate");
    await cluster.startServer();
    await writer.storeResult("rst-1", null, "RETRY");
    await writer.storeResult("rst-1", 7, "SUCCESS");
    const resumed = new SseReader(
      await handler(new Request(`http://app.test/tasks/rst-1/events?token=${token}`, { headers: { "last-event-id": lastId } })),
    );
    await resumed.end(15_000);
    assert.deepEqual(states(resumed), ["RETRY", "SUCCESS"], "exactly what it missed, nothing twice");
  });
});
