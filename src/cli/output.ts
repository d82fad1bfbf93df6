/**
 * Where the CLI writes. Every line goes through maskUrl, so no password in a URL can reach the
 * terminal or a log, whatever printed it (our messages, a driver's error, a stored value); and
 * the literal secrets of the URL the command was given (redact()) are replaced too, whatever
 * form they take in a line.
 */
import { maskUrl, secretsOf } from "../config.js";

export interface Output {
  /** Standard output: results. */
  out(text: string): void;
  /** Standard error: progress, logs, errors. */
  err(text: string): void;
  /** Redraws one progress line on stderr (terminals only). */
  progress(text: string): void;
  /** Writes to stdout and waits for the stream to drain (export's backpressure). */
  write(text: string): Promise<void>;
  /** Adds literal secrets (a URL's password, raw and decoded) that no later line may show. */
  redact(secrets: readonly string[]): void;
  /** Whether stderr is a terminal (progress bars) and stdout is one (colours, charts). */
  readonly interactive: boolean;
}

/** The secrets of every database URL a command line can carry: --url, --read-url (also as --x=…), TASKLEDGER_URL, TASKLEDGER_READ_URL. */
export function cliSecrets(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const urls = [env["TASKLEDGER_URL"] ?? "", env["TASKLEDGER_READ_URL"] ?? ""];
  argv.forEach((arg, i) => {
    for (const flag of ["--url", "--read-url"]) {
      if (arg === flag && argv[i + 1] !== undefined) urls.push(argv[i + 1]!);
      else if (arg.startsWith(`${flag}=`)) urls.push(arg.slice(flag.length + 1));
    }
  });
  return urls.flatMap(secretsOf);
}

/** maskUrl, then every known secret (longest first, so one secret inside another goes whole). */
function masker(): { mask: (text: string) => string; redact: (secrets: readonly string[]) => void } {
  const secrets: string[] = [];
  return {
    mask: (text) => secrets.reduce((masked, secret) => masked.split(secret).join("***"), maskUrl(text)),
    redact: (more) => {
      for (const secret of more) if (secret.length > 0 && !secrets.includes(secret)) secrets.push(secret);
      secrets.sort((a, b) => b.length - a.length);
    },
  };
}

/**
 * A reader that goes away (`taskledger export | head -1`) makes the next write fail with EPIPE;
 * unhandled, Node prints a stack trace. The CLI stops quietly instead, as Unix tools do, with
 * exit code 0: the reader took what it wanted.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED") process.exit(0);
    throw error;
  });
}

export function processOutput(): Output {
  const { mask, redact } = masker();
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  return {
    out: (text) => void process.stdout.write(`${mask(text)}\n`),
    err: (text) => void process.stderr.write(`${mask(text)}\n`),
    progress: (text) => void process.stderr.write(`\r${mask(text)}`),
    write: (text) =>
      new Promise((resolve) => {
        if (process.stdout.write(mask(text))) resolve();
        else process.stdout.once("drain", resolve);
      }),
    redact,
    interactive: Boolean(process.stderr.isTTY && process.stdout.isTTY),
  };
}

/** An Output that collects lines (the demo and tests use it). */
export function bufferOutput(interactive = false): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const { mask, redact } = masker();
  return {
    stdout,
    stderr,
    out: (text) => void stdout.push(mask(text)),
    err: (text) => void stderr.push(mask(text)),
    progress: (text) => void stderr.push(mask(text)),
    write: async (text) => void stdout.push(mask(text)),
    redact,
    interactive,
  };
}

/**
 * An Output that keeps stdout and stderr as the text a process would have written (lines and
 * streamed chunks in order), masked the same way; tests run the CLI in-process through it.
 */
export function textOutput(): Output & { stdout(): string; stderr(): string } {
  let stdout = "";
  let stderr = "";
  const { mask, redact } = masker();
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    out: (text) => void (stdout += `${mask(text)}\n`),
    err: (text) => void (stderr += `${mask(text)}\n`),
    progress: (text) => void (stderr += `\r${mask(text)}`),
    write: async (text) => void (stdout += mask(text)),
    redact,
    interactive: false,
  };
}
