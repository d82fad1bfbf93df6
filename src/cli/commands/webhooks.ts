/**
 * `taskledger webhooks`: list, add and remove webhooks, see and replay dead letters, and
 * `webhooks --every 1s` to run the dispatcher (one delivers at a time across processes; the
 * others wait on standby). Secrets are printed once, by `add`, and never listed.
 */
import { parseDuration } from "../../config.js";
import { withBackend, type CommandDeps } from "../open.js";
import { EXIT } from "../exit-codes.js";

export interface AddOptions {
  match?: string;
  task?: string;
  secret?: string;
}

export interface DispatchOptions {
  every?: string;
  maxAttempts?: string;
}

export async function list(deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const hooks = await backend.listWebhooks();
    if (deps.json) deps.out.out(JSON.stringify(hooks));
    else if (hooks.length === 0)
      deps.out.out("no webhooks; add one with: taskledger webhooks add <url> [--match 'reports.*' | --task <id>]");
    else
      for (const h of hooks)
        deps.out.out(`${h.id}\t${h.url}\t${h.match === "" ? "(all tasks)" : h.match}\tpending ${h.pending}\tdead ${h.dead}`);
    return EXIT.OK;
  });
}

export async function add(url: string, options: AddOptions, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const match = options.task !== undefined ? { taskId: options.task } : (options.match ?? "");
    const { id, secret } = await backend.addWebhook({ url, match, ...(options.secret ? { secret: options.secret } : {}) });
    if (deps.json) deps.out.out(JSON.stringify({ id, secret: options.secret ? undefined : secret }));
    else {
      deps.out.out(`added webhook ${id}`);
      // A secret the user chose is theirs already; only a generated one is shown, this once.
      if (!options.secret) deps.out.out(`signing secret (shown once; verify X-Taskledger-Signature with it): ${secret}`);
    }
    return EXIT.OK;
  });
}

export async function remove(ids: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const removed = await backend.removeWebhooks(ids.map(Number));
    deps.out.out(deps.json ? JSON.stringify({ removed }) : `removed ${removed} of ${ids.length} webhook${ids.length === 1 ? "" : "s"}`);
    return EXIT.OK;
  });
}

export async function dead(options: { limit?: string }, deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const letters = await backend.deadLetters({ limit: options.limit ? Number(options.limit) : 100 });
    if (deps.json) deps.out.out(JSON.stringify(letters));
    else if (letters.length === 0) deps.out.out("no dead letters");
    else
      for (const d of letters)
        deps.out.out(
          `${d.id}\twebhook ${d.webhookId}\t${d.taskId}\t${d.state}\t${d.attempts} attempts\t${d.lastError ?? ""}\t${d.deadAt.toISOString()}`,
        );
    return EXIT.OK;
  });
}

export async function replay(ids: string[], deps: CommandDeps): Promise<number> {
  return withBackend(deps, async (backend) => {
    const queued = await backend.replayDeadLetters(ids.length > 0 ? ids.map(Number) : undefined);
    deps.out.out(
      deps.json ? JSON.stringify({ replayed: queued }) : `queued ${queued} dead letter${queued === 1 ? "" : "s"} for delivery again`,
    );
    return EXIT.OK;
  });
}

/** The long-running dispatcher; SIGTERM or Ctrl-C stops it after the deliveries in flight. */
export async function dispatch(options: DispatchOptions, deps: CommandDeps): Promise<number> {
  const interval = parseDuration(options.every ?? "1s", "--every");
  return withBackend(deps, async (backend) => {
    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
    const dispatcher = backend.startWebhookDispatcher({
      interval,
      ...(options.maxAttempts ? { maxAttempts: Number(options.maxAttempts) } : {}),
      onAttempt: (a) => {
        const line = {
          task_id: a.taskId,
          state: a.status,
          webhook: a.webhookId,
          attempt: a.attempt,
          outcome: a.outcome,
          http: a.httpStatus,
        };
        deps.out.err(
          deps.json
            ? JSON.stringify(line)
            : `${a.outcome}\t${a.taskId}\t${a.status}\twebhook ${a.webhookId}\tattempt ${a.attempt}${a.error ? `\t${a.error}` : ""}`,
        );
      },
      onError: (error) => deps.out.err(`webhooks: ${error instanceof Error ? error.message : String(error)}; trying again`),
    });
    if (!deps.json)
      deps.out.err(`webhooks: delivering from ${backend.url}, looking every ${options.every ?? "1s"}; SIGTERM or Ctrl-C stops`);
    try {
      await stopped;
    } finally {
      process.removeListener("SIGTERM", stop);
      process.removeListener("SIGINT", stop);
      await dispatcher.stop();
    }
    return EXIT.OK;
  });
}
