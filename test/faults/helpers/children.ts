/**
 * Child processes for the fault suite. They run the compiled library (dist/, built by
 * `pretest:faults`) as plain ESM, which starts several times faster than going through tsx.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line that starts with `prefix`. */
  line(prefix: string): Promise<string>;
  /** Resolves when the process exits, with its code (null when killed) and all its output. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Ends stdin: the fixtures read that as "finish what you are doing and report". */
  finish(): void;
  kill9(): void;
}

export function startChild(fixture: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const script = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiting: { prefix: string; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    stdout += line + "\n";
    for (const w of waiting.filter((w) => line.startsWith(w.prefix))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(line);
    }
  });
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  child.stdin!.on("error", () => undefined);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    process: child,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        const seen = stdout.split("\n").find((l) => l.startsWith(prefix));
        if (seen !== undefined) return resolve(seen);
        waiting.push({ prefix, resolve });
        void exit.then((e) =>
          reject(new Error(`${fixture} exited (${e.code ?? e.signal}) before printing "${prefix}": ${e.stderr.slice(-2000)}`)),
        );
      }),
    exit,
    finish: () => child.stdin!.end(),
    kill9: () => void child.kill("SIGKILL"),
  };
}

/** The JSON after `prefix ` on the child's report line. */
export function reportOf<T>(stdout: string, prefix = "report"): T {
  const line = stdout.split("\n").find((l) => l.startsWith(prefix + " "));
  if (!line) throw new Error(`no "${prefix}" line in: ${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(prefix.length + 1)) as T;
}

/** Prints one figure line for the run's log and the Reliability section. */
export function figure(scenario: string, values: Record<string, unknown>): void {
  console.log(
    `# FIGURE ${scenario}: ${Object.entries(values)
      .map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : String(v)}`)
      .join(" ")}`,
  );
}

/** The p-th percentile (0..100) of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A small seeded PRNG (mulberry32), so children shuffle the same way in every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
