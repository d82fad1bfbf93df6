/**
 * Where the CLI writes. Every line goes through maskUrl, so no password in a URL can reach the
 * terminal or a log, whatever printed it (our messages, a driver's error, a stored value).
 */
import { maskUrl } from "../config.js";

export interface Output {
  /** Standard output: results. */
  out(text: string): void;
  /** Standard error: progress, logs, errors. */
  err(text: string): void;
  /** Redraws one progress line on stderr (terminals only). */
  progress(text: string): void;
  /** Writes to stdout and waits for the stream to drain (export's backpressure). */
  write(text: string): Promise<void>;
  /** Whether stderr is a terminal (progress bars) and stdout is one (colours, charts). */
  readonly interactive: boolean;
}

export function processOutput(): Output {
  return {
    out: (text) => void process.stdout.write(`${maskUrl(text)}\n`),
    err: (text) => void process.stderr.write(`${maskUrl(text)}\n`),
    progress: (text) => void process.stderr.write(`\r${maskUrl(text)}`),
    write: (text) =>
      new Promise((resolve) => {
        if (process.stdout.write(maskUrl(text))) resolve();
        else process.stdout.once("drain", resolve);
      }),
    interactive: Boolean(process.stderr.isTTY && process.stdout.isTTY),
  };
}

/** An Output that collects lines (the demo and tests use it). */
export function bufferOutput(interactive = false): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => void stdout.push(maskUrl(text)),
    err: (text) => void stderr.push(maskUrl(text)),
    progress: (text) => void stderr.push(maskUrl(text)),
    write: async (text) => void stdout.push(maskUrl(text)),
    interactive,
  };
}
