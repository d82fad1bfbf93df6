/** Runs the built CLI (dist/cli/main.js) as a subprocess, as cron or a shell would. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const maxRss = fileURLToPath(new URL("./report-maxrss.mjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak RSS in KiB, when run with measureMemory. */
  maxRssKb?: number;
}

/**
 * `closeStdout` closes the read end of stdout before the command writes, as `| head -1` does once
 * it has its line: every write then meets EPIPE.
 */
export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; measureMemory?: boolean; heapLimitMb?: number; closeStdout?: boolean } = {}): Promise<CliResult> {
  const nodeArgs = [
    ...(options.heapLimitMb ? [`--max-old-space-size=${options.heapLimitMb}`, "--max-semi-space-size=2"] : []),
    ...(options.measureMemory ? ["--import", maxRss] : []),
    main,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, TASKLEDGER_URL: "", ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      const rss = /maxrss-kb=(\d+)/.exec(stderr);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr, ...(rss ? { maxRssKb: Number(rss[1]) } : {}) });
    });
  });
}
