/**
 * The README's job-queue examples, end to end: pg-boss on the same PostgreSQL database
 * (a worker process, and a client process that enqueues, waits and reads the audit trail), and
 * BullMQ on Redis with the results in SQL. Slow (real queues polling), so run by
 * `npm run test:integration`. PostgreSQL and Redis are mandatory under CI=true; otherwise a
 * missing service skips its test with one line.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createTestDatabase, pgSkip } from "../helpers/pg.js";
import { tempDir } from "../helpers/sqlite.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const LOADER = ["--import", "tsx", "--import", "./test/helpers/self-import.ts"];
const dir = tempDir("job-queues");
after(() => dir.remove());

/** false when Redis answers at 127.0.0.1:6379, else the one line saying why the test skips. */
async function redisSkip(): Promise<string | false> {
  const reason = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: 6379 });
    socket.setTimeout(2_000, () => socket.destroy(new Error("timed out")));
    socket.once("connect", () => socket.end(() => resolve(undefined)));
    socket.once("error", (error) => resolve(error.message));
  });
  if (reason === undefined) return false;
  if (process.env["CI"] === "true") throw new Error(`Redis is mandatory under CI=true but 127.0.0.1:6379 does not answer: ${reason}`);
  const line = `Redis at 127.0.0.1:6379 does not answer (${reason}); BullMQ example skipped`;
  console.log(`# ${line}`);
  return line;
}

function runExample(file: string, url: string): { status: number | null; out: string } {
  const child = spawnSync(process.execPath, [...LOADER, file], {
    cwd: root,
    env: { ...process.env, TASKLEDGER_URL: url },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: child.status, out: child.stdout + child.stderr };
}

const [pgSkipped, redisSkipped] = [await pgSkip(), await redisSkip()];

describe("taskledger with job queues", () => {
  for (const file of ["app.ts", "producer.ts", "worker.ts", "client.ts"]) {
    it(`examples/pg-boss/${file} is shown verbatim in the README`, () => {
      const source = readFileSync(new URL(`../../examples/pg-boss/${file}`, import.meta.url), "utf8");
      assert.ok(readme.includes(source.trim()), `README.md does not contain examples/pg-boss/${file} verbatim`);
    });
  }
  it("examples/bullmq.ts is shown verbatim in the README", () => {
    assert.ok(readme.includes(readFileSync(new URL("../../examples/bullmq.ts", import.meta.url), "utf8").trim()));
  });

  it(
    "pg-boss: a worker process records each job in one transaction with its business row; the client waits and reads the attempts",
    { skip: pgSkipped },
    async () => {
      const db = await createTestDatabase("pgboss");
      const worker = spawn(process.execPath, [...LOADER, "examples/pg-boss/worker.ts"], {
        cwd: root,
        env: { ...process.env, TASKLEDGER_URL: db.url },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let workerOutput = "";
      const exited = new Promise<number | null>((resolve) => worker.once("exit", resolve));
      try {
        await new Promise<void>((resolve, reject) => {
          worker.stdout.on("data", (chunk: Buffer) => {
            workerOutput += chunk.toString();
            if (workerOutput.includes("worker ready")) resolve();
          });
          worker.stderr.on("data", (chunk: Buffer) => (workerOutput += chunk.toString()));
          void exited.then((code) => reject(new Error(`the worker exited (${code}) before it was ready:\n${workerOutput}`)));
        });
        const client = runExample("examples/pg-boss/client.ts", db.url);
        assert.equal(client.status, 0, client.out + workerOutput);
        assert.equal(
          client.out,
          [
            "{ orderId: 'o-1', cents: 1200 }",
            "{ orderId: 'o-2', cents: 900 }",
            "SUCCESS invoices.create attempt 1 pg-boss retries 0",
            "SUCCESS invoices.create attempt 2 pg-boss retries 1",
            "2 invoices done",
            "o-1:1200 o-2:900",
            "",
          ].join("\n"),
        );
      } finally {
        worker.kill("SIGTERM");
        await exited;
        await db.drop();
      }
    },
  );

  it("BullMQ: the job id is the task id, a retried attempt is recorded, the client waits on SQL", { skip: redisSkipped }, () => {
    const run = runExample("examples/bullmq.ts", `sqlite:${dir.file("bullmq.db")}`);
    assert.equal(run.status, 0, run.out);
    assert.equal(run.out, "{ pages: 12 }\nSUCCESS reports.render attempt 2\n");
  });
});
