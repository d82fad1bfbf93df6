/** Runs a TypeScript fixture in a child process (through tsx) and collects its output. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runFixture(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  const script = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
