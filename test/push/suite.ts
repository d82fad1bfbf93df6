/**
 * Telling users: the status handler and webhooks, run on each dialect by a small file
 * (push.pg.test.ts, push.sqlite.test.ts, push.mysql.test.ts) with that dialect's Harness. Each
 * test gets a fresh database and two backends on it, a server (the handler's) and a writer on its
 * own connection, as a worker in another process.
 */
import { after, afterEach, beforeEach, describe } from "node:test";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import type { Harness } from "../helpers/harness.js";
import { statusSuite } from "./status.js";
import { webhookSuite } from "./webhooks.js";

/** What the push suites use of a dialect's Harness (test/helpers/harness.ts). */
export type PushHarness = Pick<Harness, "dialect" | "freshUrl" | "execRaw" | "cleanup">;

export interface PushContext {
  pair(label: string): Promise<{ url: string; server: DatabaseBackend; writer: DatabaseBackend; open(): Promise<DatabaseBackend> }>;
  /** Resolves once `backend` has `n` registered waiters (streams), so a write after it wakes them. */
  waiters(backend: DatabaseBackend, n: number): Promise<void>;
  execRaw(url: string, statement: string): Promise<void>;
}

export function pushSuite(harness: PushHarness, skip: string | false): void {
  describe(`telling users on ${harness.dialect}`, { skip }, () => {
    let opened: DatabaseBackend[] = [];
    beforeEach(() => {
      opened = [];
    });
    afterEach(async () => {
      await Promise.all(opened.map((b) => b.close()));
    });
    after(() => harness.cleanup());
    const context: PushContext = {
      pair: async (label) => {
        const url = await harness.freshUrl(label);
        const open = async () => {
          const backend = await openBackend({ url, resultExtended: true });
          opened.push(backend);
          return backend;
        };
        return { url, server: await open(), writer: await open(), open };
      },
      waiters: async (backend, n) => {
        const deadline = Date.now() + 5_000;
        while (backend.waiterCount < n) {
          if (Date.now() > deadline) throw new Error(`only ${backend.waiterCount} of ${n} waiters registered`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
      execRaw: (url, statement) => harness.execRaw(url, statement),
    };
    statusSuite(context);
    webhookSuite(context);
  });
}
