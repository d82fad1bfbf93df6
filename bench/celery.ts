/**
 * The Node end of bench/celery_side.py: one Python process per Celery database (or per role),
 * spoken to in JSON lines. Celery 5.2 runs under Debian's /usr/bin/python3 (python3-celery);
 * TASKLEDGER_BENCH_PYTHON overrides it.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const PYTHON = process.env["TASKLEDGER_BENCH_PYTHON"] ?? "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./celery_side.py", import.meta.url));

export type CeleryMode = "client" | "pooled";

/** Why Celery cannot run here, or undefined when it can. */
export function celeryUnavailable(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import celery, sqlalchemy, psycopg2"], { encoding: "utf8" });
  if (probe.error) return `${PYTHON} not found (${probe.error.message})`;
  if (probe.status !== 0)
    return `${PYTHON} cannot import celery, sqlalchemy and psycopg2: apt-get install -y python3-celery python3-sqlalchemy python3-psycopg2`;
  return undefined;
}

export class CeleryProcess {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private stderr = "";

  private constructor(readonly url: string) {
    this.child = spawn(PYTHON, [SCRIPT, url], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  /** Starts a Celery process on `url` and waits until it answers. */
  static async start(url: string): Promise<CeleryProcess> {
    const p = new CeleryProcess(url);
    const hello = await p.next();
    if (hello["event"] !== "ready") throw new Error(`celery_side.py did not start: ${JSON.stringify(hello)}`);
    return p;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The next answer line, parsed; an {"error"} answer is thrown. */
  async next(): Promise<Record<string, unknown>> {
    const line = await this.lines.next();
    if (line.done) throw new Error(`celery_side.py exited; its stderr ends with:\n${this.stderr}`);
    const value = JSON.parse(line.value as string) as Record<string, unknown>;
    if (typeof value["error"] === "string") throw new Error(`Celery side: ${value["error"]}`);
    return value;
  }

  send(request: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(request)}\n`);
  }

  async call(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send(request);
    return this.next();
  }

  /** Runs a timed request and returns operations per second from the Python side's own clock. */
  async opsPerSecond(request: Record<string, unknown>): Promise<number> {
    const answer = await this.call(request);
    return ((answer["n"] as number) * 1000) / (answer["ms"] as number);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.send({ op: "exit" });
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
