/**
 * The web view's test data, the same on both dialects and for the API and browser suites:
 * known counts per state, name, worker and queue, a saved group, a failure with a traceback,
 * XSS strings in stored values, and one row whose result cannot be decoded.
 */
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import type { Harness } from "../helpers/harness.js";

export const XSS_NAME = "<img src=x onerror=alert(1)>";
export const XSS_RESULT = "<script>alert(2)</script><b>bold</b>";

export interface Seeded {
  failedId: string;
  xssId: string;
  corruptId: string;
  groupId: string;
  groupMembers: string[];
  /** Seeded rows per state. */
  counts: Record<string, number>;
  total: number;
}

export async function seed(backend: DatabaseBackend, corrupt: (taskId: string, bytes: Buffer) => Promise<void>): Promise<Seeded> {
  const now = Date.now();
  for (let i = 0; i < 6; i++) {
    await backend.markAsDone(
      `ok-${i}`,
      { rows: i },
      {
        request: { name: "reports.generate", worker: "w1", queue: "default", args: [i], kwargs: { page: i } },
        now: new Date(now - 60_000 * (10 - i)),
      },
    );
  }
  for (let i = 0; i < 3; i++) {
    await backend.markAsFailure(`fail-${i}`, new RangeError(`bad row ${7}`), {
      request: { name: "etl.load", worker: "w2", queue: "etl" },
      traceback: `Traceback (most recent call last):\n  File "etl.py", line ${40 + i}, in load\nRangeError: bad row 7`,
      now: new Date(now - 30_000 * (5 - i)),
    });
  }
  await backend.markAsFailure("fail-type", new TypeError("expected str"), { request: { name: "mail.send", worker: "w1", queue: "mail" } });
  await backend.markAsStarted("run-0", null, { request: { name: "mail.send", worker: "w1", queue: "mail" } });
  await backend.markAsDone("xss-1", XSS_RESULT, {
    request: { name: XSS_NAME, worker: "<b>w</b>", queue: "default", kwargs: { html: "<svg onload=alert(3)>" } },
  });
  const groupMembers = ["grp-a", "grp-b", "grp-c"];
  await backend.markAsDone("grp-a", 1, { request: { name: "sum.part", groupId: "grp-1", worker: "w3", queue: "default" } });
  await backend.markAsFailure("grp-b", new Error("part failed"), {
    request: { name: "sum.part", groupId: "grp-1", worker: "w3", queue: "default" },
  });
  await backend.markAsStarted("grp-c", null, { request: { name: "sum.part", groupId: "grp-1", worker: "w3", queue: "default" } });
  await backend.saveGroup("grp-1", groupMembers);
  await backend.markAsDone("corrupt-1", "fine", { request: { name: "broken.row", worker: "w1", queue: "default" } });
  await corrupt("corrupt-1", Buffer.from([0x80, 0x05, 0x95]));
  const counts = { SUCCESS: 6 + 1 + 1 + 1, FAILURE: 3 + 1 + 1, STARTED: 1 + 1 };
  return { failedId: "fail-0", xssId: "xss-1", corruptId: "corrupt-1", groupId: "grp-1", groupMembers, counts, total: 16 };
}

export interface Store {
  url: string;
  /** The same store under a URL carrying a password where the dialect's URLs can (PostgreSQL's trust auth ignores it). */
  urlWithPassword: string;
  corrupt(taskId: string, bytes: Buffer): Promise<void>;
}

/** A fresh migrated store on the harness's dialect; it goes with harness.cleanup(). */
export async function freshStore(harness: Harness, label: string): Promise<Store> {
  const url = await harness.migratedUrl(label);
  return {
    url,
    urlWithPassword: harness.withPassword(url, "s3cret-pw"),
    corrupt: (taskId, bytes) => harness.setRaw(url, taskId, "result", bytes),
  };
}

export async function openSeeded(store: Store): Promise<{ backend: DatabaseBackend; seeded: Seeded }> {
  const backend = await openBackend({ url: store.urlWithPassword, resultExtended: true });
  return { backend, seeded: await seed(backend, (id, bytes) => store.corrupt(id, bytes)) };
}
