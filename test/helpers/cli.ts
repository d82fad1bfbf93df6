/**
 * Runs the CLI as a test would see it from a shell: exit code, stdout and stderr.
 *
 * By default the command runs in this process through the program's `run(argv)` seam with an
 * Output that collects text, exactly as main.ts wires it to the process: a subprocess costs
 * 1-1.5 s of Node start-up on 2 cores and the CLI suites ran ~70 of them.
 * `subprocess: true` (or a memory option) runs the built dist/cli/main.js as cron would, for the
 * few tests about the process itself: memory caps, pipes, signals.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { textOutput } from "../../src/cli/output.js";
import { buildProgram } from "../../src/cli/program.js";

const main = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const maxRss = fileURLToPath(new URL("./report-maxrss.mjs", import.meta.url));

export interface CliResult {
  code: number | null;
  /** The signal that ended the process, if one did. */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak RSS in KiB, when run with measureMemory. */
  maxRssKb?: number;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  measureMemory?: boolean;
  heapLimitMb?: number;
  /** Run dist/cli/main.js in a child process instead of in this one. */
  subprocess?: boolean;
  /**
   * Close the read end of stdout before the command writes, as `| head -1` does once it has its
   * line: every write then meets EPIPE (implies a subprocess).
   */
  closeStdout?: boolean;
}

export function cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  if (options.subprocess || options.closeStdout || options.measureMemory || options.heapLimitMb) return cliProcess(args, options).done;
  return cliInProcess(args, options.env ?? {});
}

/** In-process runs share process.env, so they take turns (a test file may start several at once). */
let queue: Promise<unknown> = Promise.resolve();

function cliInProcess(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const turn = queue.then(async () => {
    // The subprocess form starts with TASKLEDGER_URL="" so a developer's own URL never leaks in.
    const overrides: NodeJS.ProcessEnv = { TASKLEDGER_URL: "", TASKLEDGER_READ_URL: "", ...env };
    const saved = new Map(Object.keys(overrides).map((key) => [key, process.env[key]]));
    for (const [key, value] of Object.entries(overrides)) setEnv(key, value);
    const output = textOutput();
    try {
      const code = await buildProgram(output).run(args);
      return { code, stdout: output.stdout(), stderr: output.stderr() };
    } finally {
      for (const [key, value] of saved) setEnv(key, value);
    }
  });
  queue = turn.catch(() => undefined);
  return turn;
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** A running CLI process: the child (to signal it), its output so far, and its result. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout satisfies `predicate` (checked on every chunk). */
  stdoutUntil(predicate: (stdout: string) => boolean): Promise<string>;
  done: Promise<CliResult>;
}

export function cliProcess(args: string[], options: CliOptions = {}): CliProcess {
  const nodeArgs = [
    ...(options.heapLimitMb ? [`--max-old-space-size=${options.heapLimitMb}`, "--max-semi-space-size=2"] : []),
    ...(options.measureMemory ? ["--import", maxRss] : []),
    main,
  ];
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, TASKLEDGER_URL: "", TASKLEDGER_READ_URL: "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let stderr = "";
  if (options.closeStdout) child.stdout!.destroy();
  else child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const rss = /maxrss-kb=(\d+)/.exec(stderr);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr, ...(rss ? { maxRssKb: Number(rss[1]) } : {}) });
    });
  });
  const text = () => Buffer.concat(out).toString("utf8");
  const stdoutUntil = (predicate: (stdout: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (!predicate(text())) return;
        child.stdout!.off("data", check);
        resolve(text());
      };
      child.stdout!.on("data", check);
      child.once("close", () =>
        predicate(text()) ? resolve(text()) : reject(new Error(`the CLI exited first; stdout: ${text()}; stderr: ${stderr}`)),
      );
      check();
    });
  return { child, stdout: text, stderr: () => stderr, stdoutUntil, done };
}
