/**
 * What every CLI test file gets from test/cli/suite.ts: the harness, a shared migrated database
 * with a backend on it, fresh databases whose backends are closed at the end, and the waits the
 * cleanup-lock tests share.
 */
import { randomUUID } from "node:crypto";
import { openBackend, states, type BackendOptions, type DatabaseBackend } from "../../src/index.js";
import { withDriver } from "../helpers/driver-spy.js";
import type { Harness } from "../helpers/harness.js";

export const DAY = 86_400_000;

export interface CliContext {
  harness: Harness;
  /**
   * The shared database, migrated. Tests here write their own ids and names and read only those;
   * none runs a real cleanup on it or counts every row (those take a freshStore).
   */
  url(): string;
  /** A backend on the shared database, resultExtended on. */
  backend(): DatabaseBackend;
  /** A backend on `url`, closed when the suite ends. */
  open(url: string, options?: Omit<BackendOptions, "url">): Promise<DatabaseBackend>;
  /** A fresh migrated database and a backend on it (resultExtended on). */
  freshStore(label: string): Promise<{ url: string; backend: DatabaseBackend }>;
  /** A fresh database holding `count` results that expired days ago. */
  expiredRows(label: string, count: number): Promise<{ url: string; backend: DatabaseBackend }>;
  /** Who holds the cleanup lock, once someone does (a database state, so it is polled); undefined after 15 s. */
  lockHeld(url: string): Promise<string | undefined>;
}

/** Stores `count` results that expired ten days ago into the database at `url`, through a backend closed afterwards. */
async function fill(url: string, count: number): Promise<string> {
  const backend = await openBackend({ url });
  try {
    for (let i = 0; i < count; i += 5_000) {
      await backend.storeMany(
        Array.from({ length: Math.min(5_000, count - i) }, () => ({ taskId: randomUUID(), status: states.SUCCESS, result: 1 })),
        { now: new Date(Date.now() - 10 * DAY) },
      );
    }
  } finally {
    await backend.close();
  }
  return url;
}

/** The context over a harness; `shared` is filled in by the suite's before(). */
export function cliContext(harness: Harness, shared: { url: string; backend?: DatabaseBackend }, opened: DatabaseBackend[]): CliContext {
  const expired = new Map<number, Promise<string>>();
  const open = async (url: string, options: Omit<BackendOptions, "url"> = {}) => {
    const backend = await openBackend({ url, ...options });
    opened.push(backend);
    return backend;
  };
  return {
    harness,
    url: () => shared.url,
    backend: () => shared.backend!,
    open,
    freshStore: async (label) => {
      const url = await harness.migratedUrl(label);
      return { url, backend: await open(url, { resultExtended: true }) };
    },
    expiredRows: async (label, count) => {
      if (count < 1_000) {
        const store = await fill(await harness.migratedUrl(label), count);
        return { url: store, backend: await open(store) };
      }
      // Filled once per count and copied: three tests each wanted 20,000 rows.
      let filled = expired.get(count);
      if (!filled) {
        filled = (async () => fill(await harness.migratedUrl(`expired_${count}`), count))();
        expired.set(count, filled);
      }
      const url = await harness.copyOf(await filled, label);
      return { url, backend: await open(url) };
    },
    lockHeld: (url) =>
      withDriver(url, async (driver) => {
        for (let i = 0; i < 3_000; i++) {
          const holder = await driver.lockHolder("cleanup");
          if (holder) return holder;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return undefined;
      }),
  };
}
