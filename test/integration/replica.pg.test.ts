/**
 * Audit reads from a streaming replica (readUrl, --read-url): a throwaway primary and a hot standby
 * made with pg_basebackup -R, on ports of their own. With the standby's replay paused, what audits
 * read (list, show, stats, the web view) does not see a new write while get() on the primary does,
 * and every figure says it comes from a replica that far behind; writes never go to the replica.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AsyncResult, ConfigError, openBackend, states, type DatabaseBackend } from "../../src/index.js";
import { createWebApp } from "../../src/web/server.js";
import { cli } from "../helpers/cli.js";
import { pgServerBin, startThrowawayCluster, type ThrowawayCluster } from "../helpers/pg-cluster.js";
import { startStandby, type Standby } from "../helpers/pg-standby.js";

const PRIMARY_PORT = Number(process.env["TASKLEDGER_TEST_REPLICA_PORT"] ?? 29070);
const unavailable = pgServerBin() === undefined ? "no PostgreSQL server binaries (initdb, pg_basebackup) on this machine" : undefined;
if (unavailable && process.env["CI"] === "true") throw new Error(`the read replica tests are mandatory under CI=true: ${unavailable}`);
if (unavailable) console.log(`# read replica tests skipped: ${unavailable}`);

/** Resolves once `check` holds, or fails after `ms`. */
async function eventually(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("audit reads from a streaming replica", { skip: unavailable ?? false }, () => {
  let primary: ThrowawayCluster;
  let standby: Standby;
  let backend: DatabaseBackend;
  const seen = async (taskId: string) => (await backend.audit.byIds([taskId])).length === 1;

  before(async () => {
    primary = await startThrowawayCluster({ port: PRIMARY_PORT, fresh: true });
    await (await openBackend({ url: primary.url })).close(); // the tables exist before the copy
    standby = await startStandby(PRIMARY_PORT, PRIMARY_PORT + 1);
    backend = await openBackend({ url: primary.url, readUrl: standby.url, migrate: false });
  });
  after(async () => {
    await backend?.close();
    await standby?.remove();
    await primary?.remove();
  });

  it("audit reads come from the replica once it replays; the backend says it reads one", async () => {
    assert.equal(backend.readsReplica, true);
    const task = randomUUID();
    await backend.markAsDone(task, 1);
    await eventually(() => seen(task), "the replica replays the store");
    const status = await backend.audit.replica();
    assert.ok(status, "a standby reports its replay");
    assert.equal(status.paused, false);
  });

  it("with replay paused, audits do not see a new write, get() on the primary does, and every figure says how old it is", async () => {
    await standby.query("SELECT pg_wal_replay_pause()");
    await eventually(async () => (await backend.audit.replica())?.paused === true, "replay pauses");
    try {
      const task = randomUUID();
      await backend.markAsDone(task, "fresh");
      assert.equal(await new AsyncResult(task, backend).get({ timeout: 5_000 }), "fresh", "get() reads the primary");
      assert.equal((await backend.getTaskMeta(task)).status, states.SUCCESS);
      assert.equal(await seen(task), false, "show reads the replica, which has not replayed the store");
      assert.equal((await backend.audit.list({ idPrefix: task })).length, 0, "list reads the replica");
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const status = await backend.audit.replica();
      assert.equal(status?.paused, true);
      assert.ok(status.lagMs >= 1_000, `a paused replica's lag grows (${status.lagMs} ms)`);

      const stats = await cli(["--url", primary.url, "--read-url", standby.url, "stats", "--all"]);
      assert.equal(stats.code, 0, stats.stderr);
      assert.match(stats.stdout, /read from a replica, \d+\.\d s behind the primary \(replay paused\)/);
      const json = await cli(["--url", primary.url, "--read-url", standby.url, "--json", "stats", "--all"]);
      assert.equal(JSON.parse(json.stdout).replica.paused, true);
      const show = await cli(["--url", primary.url, "--read-url", standby.url, "show", task]);
      assert.equal(show.code, 1, "show on the replica does not find the unreplayed task");

      const app = createWebApp(backend);
      const page = await (await app.request("http://127.0.0.1:8765/")).text();
      assert.match(page, /read from a replica, \d+\.\d s behind the primary \(replay paused\)/);
      const api = (await (await app.request("http://127.0.0.1:8765/api/replica")).json()) as { replica: { paused: boolean } };
      assert.equal(api.replica.paused, true);
      assert.equal((await app.request(`http://127.0.0.1:8765/api/tasks/${task}`)).status, 404, "the API reads the replica too");

      // Writes and their reads stay on the primary: the replica is read-only and would refuse them.
      assert.equal(await backend.hold([task], { reason: "audit" }), 1);
      assert.equal((await backend.holds([task])).length, 1);
      assert.equal(await backend.forget(randomUUID()), 0);
      assert.equal((await backend.cleanup({ dryRun: true })).dryRun, true);
      await standby.query("SELECT pg_wal_replay_resume()");
      await eventually(() => seen(task), "the replica replays the store once resumed");
    } finally {
      await standby.query("SELECT pg_wal_replay_resume()").catch(() => undefined);
    }
  });

  it("a read URL for anything but a PostgreSQL primary is a ConfigError naming readUrl", async () => {
    await assert.rejects(openBackend({ url: ":memory:", readUrl: standby.url }), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, /readUrl.*PostgreSQL/);
      return true;
    });
    await assert.rejects(openBackend({ url: primary.url, readUrl: "sqlite:/tmp/x.db" }), ConfigError);
  });

  it("--read-url's password never reaches the CLI's output", async () => {
    const secret = `s3cret-${randomUUID().slice(0, 8)}`;
    const bad = `postgres://postgres:${secret}@127.0.0.1:1/test`;
    const result = await cli(["--url", primary.url, "--read-url", bad, "stats", "--all"], { env: { TASKLEDGER_RETRY_BUDGET: "0" } });
    assert.notEqual(result.code, 0);
    assert.ok(!(result.stdout + result.stderr).includes(secret), result.stderr);
  });
});
