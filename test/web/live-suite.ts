/**
 * The live feed under a burst: more rows than one read's page arrive between two looks. Every
 * change reaches the client, or, past the feed's cap, a `missed` event says where the rest are.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout } from "node:timers/promises";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { startWebServer, type WebServer } from "../../src/web/server.js";
import { freshStore, skipFor, type Store, type WebTarget } from "./seed.js";

const BURST = 1_500;

interface FeedEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Moves each complete event of `text` into `events`; returns the incomplete rest. */
function parseEvents(text: string, events: FeedEvent[]): string {
  let end: number;
  while ((end = text.indexOf("\n\n")) >= 0) {
    const block = text.slice(0, end);
    text = text.slice(end + 2);
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
  }
  return text;
}

/** Reads server-sent events until `done` holds of those so far; fails after `ms`. */
async function readFeed(reader: ReadableStreamDefaultReader<string>, done: (events: FeedEvent[]) => boolean, ms = 20_000) {
  const events: FeedEvent[] = [];
  let text = "";
  const deadline = Date.now() + ms;
  while (!done(events)) {
    assert.ok(Date.now() < deadline, `feed stalled after ${events.length} events`);
    const chunk = await reader.read();
    assert.ok(!chunk.done, "the feed ended");
    text = parseEvents(text + chunk.value, events);
  }
  return events;
}

/** The events that arrive within the next `ms`. */
async function readFor(reader: ReadableStreamDefaultReader<string>, ms: number): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  let text = "";
  const stopAt = Date.now() + ms;
  for (;;) {
    const pending = reader.read();
    const chunk = await Promise.race([pending, setTimeout(Math.max(0, stopAt - Date.now())).then(() => undefined)]);
    if (chunk === undefined) {
      pending.catch(() => undefined);
      return events;
    }
    if (chunk.done) return events;
    text = parseEvents(text + chunk.value, events);
  }
}

export function liveSuite(dialect: WebTarget): void {
  describe(`taskledger serve on ${dialect}: the live feed under a burst`, async () => {
    const skip = await skipFor(dialect);
    let store: Store;
    let backend: DatabaseBackend;
    let writer: DatabaseBackend;

    before(async () => {
      if (skip) return;
      store = await freshStore(dialect, "web_live");
      backend = await openBackend({ url: store.url });
      writer = await openBackend({ url: store.url, migrate: false });
    });
    after(async () => {
      if (skip) return;
      await writer.close();
      await backend.close();
      await store.drop();
    });

    /** Opens the feed for ids starting `prefix-`, commits one burst of `BURST` rows through another connection. */
    async function burst(server: WebServer, prefix: string) {
      const controller = new AbortController();
      // Filtered to this burst, as the catch-up link must be too (the previous test's burst is
      // within the feed's first look back).
      const res = await fetch(`${server.url}api/events?id=${prefix}-`, { signal: controller.signal });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      await readFeed(reader, (events) => events.some((e) => e.event === "ready"));
      const ids = Array.from({ length: BURST }, (_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
      await writer.storeMany(ids.map((taskId) => ({ taskId, status: "SUCCESS", result: 1 })));
      return { ids, reader, stop: () => controller.abort() };
    }
    const taskIds = (events: FeedEvent[]) => events.filter((e) => e.event === "task").map((e) => String(e.data["task_id"]));

    it("a burst of more rows than one read's page reaches the feed whole", { skip }, async () => {
      const server = await startWebServer(backend, { port: 0, livePollMs: 200 });
      try {
        const { ids, reader, stop } = await burst(server, "burst");
        const events = await readFeed(reader, (events) => new Set(taskIds(events)).size >= BURST);
        stop();
        assert.deepEqual(new Set(taskIds(events)), new Set(ids));
        assert.equal(taskIds(events).length, BURST, "each change once");
        assert.ok(!events.some((e) => e.event === "missed"));
      } finally {
        await server.close();
      }
    });

    it("past the feed's cap, a missed event links to exactly the changes it did not send", { skip }, async () => {
      const cap = 600;
      const server = await startWebServer(backend, { port: 0, livePollMs: 200, liveBurstMax: cap });
      try {
        const { ids, reader, stop } = await burst(server, "capped");
        const events = await readFeed(reader, (events) => taskIds(events).length >= cap && events.some((e) => e.event === "missed"));
        // Several more looks (each 200 ms): what it reported missing is not reported again.
        const later = await readFor(reader, 1_500);
        stop();
        const sent = taskIds(events).filter((id) => id.startsWith("capped-"));
        assert.equal(sent.length, cap);
        const missed = events.filter((e) => e.event === "missed");
        assert.equal(missed.length, 1);
        assert.deepEqual(
          later.filter((e) => e.event !== "task" || String(e.data["task_id"]).startsWith("capped-")),
          [],
          "nothing of the burst twice",
        );
        const caughtUp: string[] = [];
        let next: unknown = missed[0]!.data["catch_up"];
        assert.match(String(next), /^\/api\/tasks\?/);
        while (typeof next === "string") {
          const page = (await (await fetch(new URL(next, server.url))).json()) as { items: { task_id: string }[]; next_url: string | null };
          caughtUp.push(...page.items.map((t) => t.task_id));
          next = page.next_url;
        }
        assert.equal(caughtUp.length, BURST - cap, "the catch-up lists only what was not sent");
        assert.deepEqual(new Set([...sent, ...caughtUp]), new Set(ids), "together, every change of the burst");
      } finally {
        await server.close();
      }
    });
  });
}
