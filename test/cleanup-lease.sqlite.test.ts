/**
 * SQLite's cleanup lease, a SQLite-only file because PostgreSQL's advisory lock needs
 * no lease: the server ends it with the holder's session. A holder on this machine is checked by
 * pid and a dead one's lease is taken over at once; one that cannot be checked (another host, an
 * older version's lease) is judged by its heartbeat.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { CleanupLockedError, openBackend, type DatabaseBackend } from "../src/index.js";
import { newHolder } from "../src/db/sqlite/lease-holder.js";
import type { Driver } from "../src/db/driver.js";
import { openDriverFor } from "./helpers/driver-spy.js";
import { tempDir } from "./helpers/sqlite.js";

const dir = tempDir("lease");

describe("SQLite cleanup lease", () => {
  let file = "";
  let backend: DatabaseBackend;
  // Asks who holds the lock, from another driver on the same file (the backend's own is private).
  let lock: Driver;
  before(async () => {
    file = dir.file("lease.db");
    backend = await openBackend({ url: `sqlite:${file}` });
    lock = openDriverFor(`sqlite:${file}`);
  });
  after(async () => {
    await lock.close();
    await backend.close();
    dir.remove();
  });

  function setLease(holder: string, expiresInMs: number): void {
    const db = new Database(file);
    try {
      db.prepare(
        "INSERT INTO taskledger_lock (name, holder, expires_at) VALUES ('cleanup', ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at",
      ).run(holder, Date.now() + expiresInMs);
    } finally {
      db.close();
    }
  }

  /** The pid of a process that has already exited. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    return Number(child.stdout);
  }

  it("a lease left by a dead process on this host is taken over at once, and the report says whose it was", async () => {
    const pid = deadPid();
    setLease(JSON.stringify({ ...newHolder(), pid }), 60_000);
    assert.match((await lock.lockHolder("cleanup"))!, new RegExp(`pid ${pid} on this host .*no longer running`));
    const report = await backend.cleanup();
    assert.match(report.lockTakenOver!, new RegExp(`pid ${pid} on this host \\(${hostname()}\\), which is no longer running`));
    assert.equal(await lock.lockHolder("cleanup"), undefined, "the lease was released after the run");
  });

  it("a lease held by a live process on this host is respected, and the refusal says it is alive", async () => {
    setLease(JSON.stringify({ ...newHolder(), pid: process.ppid }), 60_000);
    await assert.rejects(backend.cleanup(), (error: unknown) => {
      assert.ok(error instanceof CleanupLockedError);
      assert.match(error.message, new RegExp(`held by pid ${process.ppid} on this host .*which is alive`));
      return true;
    });
  });

  it("a holder on another host is judged by its heartbeat: refused while the lease runs, taken once it ran out", async () => {
    const elsewhere = JSON.stringify({ id: randomUUID(), pid: 1, host: "elsewhere.example", scope: "x" });
    setLease(elsewhere, 10_000);
    await assert.rejects(
      backend.cleanup(),
      /held by pid 1 on host elsewhere\.example, which cannot be checked from here; its heartbeat keeps the lease for \d+ s more/,
    );
    setLease(elsewhere, -1);
    assert.equal((await backend.cleanup()).complete, true);
  });

  it("a lease written by an older version (a bare id) is waited out like an unchecked holder", async () => {
    setLease(randomUUID(), 10_000);
    await assert.rejects(backend.cleanup(), /held by a holder that recorded no pid, which cannot be checked/);
    setLease(randomUUID(), -1);
    assert.equal((await backend.cleanup()).complete, true);
  });

  it("a run whose lease was taken over stops at the next batch boundary", async () => {
    await backend.storeMany(
      Array.from({ length: 100 }, () => ({ taskId: randomUUID(), status: "SUCCESS", result: 1 })),
      { now: new Date(Date.now() - 3 * 86_400_000) },
    );
    const report = await backend.cleanup({
      batchSize: 10,
      onProgress: (p) => {
        if (p.total === 10) setLease(JSON.stringify({ ...newHolder(), pid: process.ppid }), 60_000);
      },
    });
    assert.equal(report.complete, false);
    assert.equal(report.tasks, 10);
    assert.match((await lock.lockHolder("cleanup"))!, /which is alive/, "the new holder's lease was left alone");
    setLease(randomUUID(), -1);
  });
});
