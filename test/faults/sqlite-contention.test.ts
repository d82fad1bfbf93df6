/**
 * Four processes writing one SQLite file, plus a reader and a concurrent cleanup: no
 * SQLITE_BUSY (or any other error) may reach a caller, and no acknowledged write may be lost.
 * The cleanup has 30,000 expired rows to delete while the writers run.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBackend } from "../../src/index.js";
import { figure, reportOf, startChild } from "./helpers/children.js";

const WRITERS = 4;
const EXPIRED = 30_000;
/** The run lasts until the writers acknowledged this many more rows after the cleanup finished. */
const ROWS_AFTER_CLEAN = 3_000;

describe("one SQLite file, 4 writer processes, a reader and a cleanup", () => {
  const dir = mkdtempSync(join(tmpdir(), "tl-fault-sqlite-"));
  const file = join(dir, "shared.db");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("surfaces no SQLITE_BUSY and loses no acknowledged write", async () => {
    await (await openBackend({ url: file })).close();
    const seed = new Database(file);
    seed
      .prepare(
        `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
      INSERT INTO celery_taskmeta (task_id, status, result, date_done)
      SELECT 'old-' || n, 'SUCCESS', CAST('"done"' AS BLOB), strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 days') || '000' FROM g`,
      )
      .run(EXPIRED);
    seed.close();
    const count = () => {
      const db = new Database(file, { readonly: true });
      db.pragma("busy_timeout = 5000");
      try {
        return (db.prepare("SELECT count(*) AS n FROM celery_taskmeta WHERE task_id LIKE 'w%'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };

    const writers = Array.from({ length: WRITERS }, (_, i) => startChild("writer.mjs", [file, String(i), "2"]));
    const reader = startChild("reader.mjs", [file]);
    const cleaner = startChild("cleaner.mjs", [file]);
    await cleaner.line("clean");
    const target = count() + ROWS_AFTER_CLEAN;
    while (count() < target) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const child of [...writers, reader, cleaner]) child.finish();

    const writerReports = (await Promise.all(writers.map((w) => w.exit))).map((e) => {
      assert.equal(e.code, 0, e.stderr);
      return reportOf<{
        acked: [string, string][];
        calls: number;
        failed: number;
        failures: { message: string }[];
        longestBlockMs: number;
      }>(e.stdout);
    });
    const readerExit = await reader.exit;
    const cleanerExit = await cleaner.exit;
    assert.equal(readerExit.code, 0, readerExit.stderr);
    assert.equal(cleanerExit.code, 0, cleanerExit.stderr);
    const readReport = reportOf<{ reads: number; errors: string[] }>(readerExit.stdout);
    const cleanReport = reportOf<{ runs: number; deleted: number; errors: string[] }>(cleanerExit.stdout);

    const db = new Database(file, { readonly: true });
    const stored = new Map(
      (db.prepare("SELECT task_id, status FROM celery_taskmeta").all() as { task_id: string; status: string }[]).map((r) => [
        r.task_id,
        r.status,
      ]),
    );
    db.close();
    const acked = writerReports.flatMap((r) => r.acked);
    const lost = acked.filter(([id, state]) => stored.get(id) !== state).length;
    const errors = [...writerReports.flatMap((r) => r.failures.map((f) => f.message)), ...readReport.errors, ...cleanReport.errors];
    const busy = errors.filter((e) => /SQLITE_BUSY|database is locked/i.test(e)).length;
    figure("sqlite-contention", {
      writers: WRITERS,
      acknowledgedRows: acked.length,
      writerCalls: writerReports.reduce((n, r) => n + r.calls, 0),
      reads: readReport.reads,
      cleanupRuns: cleanReport.runs,
      cleanupDeleted: cleanReport.deleted,
      busySurfaced: busy,
      otherErrors: errors.length - busy,
      lost,
      longestWriteBlockMs: Math.round(Math.max(...writerReports.map((r) => r.longestBlockMs))),
    });
    assert.deepEqual(errors.slice(0, 5), [], "errors reached callers");
    assert.equal(lost, 0, "acknowledged writes lost");
    assert.equal(cleanReport.deleted, EXPIRED, "the cleanup deleted every expired row and nothing else");
  });
});
