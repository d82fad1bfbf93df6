/** Runs the built CLI (dist/cli/main.js) as a subprocess, as cron or a shell would. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

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

export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; measureMemory?: boolean; heapLimitMb?: number } = {}): Promise<CliResult> {
  return cliProcess(args, options).done;
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

export function cliProcess(args: string[], options: { env?: NodeJS.ProcessEnv; measureMemory?: boolean; heapLimitMb?: number } = {}): CliProcess {
  const nodeArgs = [
    ...(options.heapLimitMb ? [`--max-old-space-size=${options.heapLimitMb}`, "--max-semi-space-size=2"] : []),
    ...(options.measureMemory ? ["--import", maxRss] : []),
    main,
  ];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, TASKLEDGER_URL: "", ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => out.push(chunk));
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
      child.once("close", () => (predicate(text()) ? resolve(text()) : reject(new Error(`the CLI exited first; stdout: ${text()}; stderr: ${stderr}`))));
      check();
    });
  return { child, stdout: text, stderr: () => stderr, stdoutUntil, done };
}
