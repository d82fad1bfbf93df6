/** Node child processes (bench/children/*.ts under tsx), spoken to in lines. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export class NodeChild {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private stderr = "";
  readonly exited: Promise<number | null>;

  constructor(script: string, args: string[]) {
    const file = fileURLToPath(new URL(`./children/${script}`, import.meta.url));
    this.child = spawn(process.execPath, ["--import", "tsx", file, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stderr!.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }

  async next(): Promise<string> {
    const line = await this.lines.next();
    if (line.done) throw new Error(`child ${this.child.spawnargs.slice(-2).join(" ")} exited; stderr ends with:\n${this.stderr}`);
    return line.value as string;
  }

  async nextJson<T>(): Promise<T> {
    return JSON.parse(await this.next()) as T;
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
