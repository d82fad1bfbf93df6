/**
 * The web view's test data, the same on both dialects and for the API and browser suites:
 * known counts per state, name, worker and queue, a saved group, a failure with a traceback,
 * XSS strings in stored values, and one row whose result cannot be decoded.
 */
import { citusSkip, createCitusDatabase } from "../helpers/citus.js";
import Database from "better-sqlite3";
import { openBackend, type DatabaseBackend } from "../../src/index.js";
import { createTestDatabase, pgSkip, queryDatabase, type TestDatabase } from "../helpers/pg.js";
import { tempDir } from "../helpers/sqlite.js";

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
  dialect: "sqlite" | "postgresql";
  url: string;
  /** The same store under a URL carrying a password (PostgreSQL: trust auth ignores it). */
  urlWithPassword: string;
  corrupt(taskId: string, bytes: Buffer): Promise<void>;
  drop(): Promise<void>;
}

/** Where a web suite runs: SQLite, PostgreSQL, or PostgreSQL through a Citus coordinator (tables distributed). */
export type WebTarget = "sqlite" | "postgresql" | "citus";

/** A fresh store per dialect, or the skip reason (PostgreSQL not answering outside CI). */
export async function freshStore(dialect: WebTarget, label: string): Promise<Store> {
  if (dialect === "sqlite") {
    const dir = tempDir(label);
    const file = dir.file("web.db");
    return {
      dialect,
      url: `sqlite:${file}`,
      urlWithPassword: `sqlite:${file}`,
      corrupt: async (taskId, bytes) => {
        const db = new Database(file);
        db.prepare("UPDATE celery_taskmeta SET result = ? WHERE task_id = ?").run(bytes, taskId);
        db.close();
      },
      drop: async () => dir.remove(),
    };
  }
  const db: TestDatabase = dialect === "citus" ? await createCitusDatabase(label) : await createTestDatabase(label);
  const withPassword = new URL(db.url);
  withPassword.password = "s3cret-pw";
  return {
    dialect: "postgresql",
    url: db.url,
    urlWithPassword: withPassword.toString(),
    corrupt: async (taskId, bytes) =>
      void (await queryDatabase(db.url, "UPDATE celery_taskmeta SET result = $1 WHERE task_id = $2", [bytes, taskId])),
    drop: () => db.drop(),
  };
}

export async function skipFor(dialect: WebTarget): Promise<string | false> {
  return dialect === "postgresql" ? pgSkip() : dialect === "citus" ? citusSkip() : false;
}

export async function openSeeded(store: Store): Promise<{ backend: DatabaseBackend; seeded: Seeded }> {
  const backend = await openBackend({ url: store.urlWithPassword, resultExtended: true });
  return { backend, seeded: await seed(backend, (id, bytes) => store.corrupt(id, bytes)) };
}
