/**
 * Webhook registration and dead letters over the Driver, behind DatabaseBackend's webhook
 * methods. Secrets are taken (or made) here and handed back once, when the webhook is added;
 * nothing listed afterwards carries them.
 */
import { randomBytes } from "node:crypto";
import type { Driver, OutboxRow, WebhookMatch } from "../db/driver.js";
import { ConfigError } from "../errors.js";
import { validateId } from "./task-write.js";
import { WebhookDispatcher, type WebhookDispatcherOptions } from "./webhook-dispatcher.js";

/** Shortest secret accepted: 16 characters (a generated one is 43). */
export const WEBHOOK_SECRET_MIN_LENGTH = 16;

export interface AddWebhookOptions {
  /** Where to POST: an http:// or https:// URL. */
  url: string;
  /**
   * Which tasks: a task-name glob (`reports.*`; `*` and `?` are the only wildcards), `{ taskId }`
   * for one task, or empty for every task. Name globs need the task's name in its row, which
   * Celery writes only with `result_extended`.
   */
  match?: string | { taskId: string };
  /** The signing secret (at least 16 characters); one is generated when absent. */
  secret?: string;
}

/** A registered webhook, as listed: never with its secret. */
export interface Webhook {
  id: number;
  url: string;
  /** How it was registered: "" for every task, `task:<id>`, or a task-name glob. */
  match: string;
  createdAt: Date;
  /** Deliveries waiting (due, or backing off after a failure). */
  pending: number;
  /** Dead letters. */
  dead: number;
}

/** A delivery given up on after the dispatcher's bound of attempts. */
export interface DeadLetter {
  id: number;
  webhookId: number;
  url: string;
  taskId: string;
  state: string;
  dateDone: Date | null;
  attempts: number;
  lastError: string | null;
  deadAt: Date;
}

export function toMatch(match: AddWebhookOptions["match"]): WebhookMatch {
  if (match === undefined || match === "") return { kind: "all" };
  if (typeof match === "object") return { kind: "task", taskId: validateId(match.taskId, "task") };
  if (match.length > 155) throw new ConfigError("match", "a task-name pattern has at most 155 characters");
  return { kind: "name", glob: match };
}

export function checkedWebhook(options: AddWebhookOptions): { url: string; match: WebhookMatch; secret: string } {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError("url", "not a URL; give the receiver's full address, e.g. https://example.com/hooks/taskledger");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ConfigError("url", "webhooks are POSTed over http:// or https:// only");
  const secret = options.secret ?? randomBytes(32).toString("base64url");
  if (secret.length < WEBHOOK_SECRET_MIN_LENGTH)
    throw new ConfigError("secret", `use at least ${WEBHOOK_SECRET_MIN_LENGTH} characters, or leave it out to have one generated`);
  return { url: url.toString(), match: toMatch(options.match), secret };
}

export function toDeadLetter(row: OutboxRow): DeadLetter {
  return {
    id: row.id,
    webhookId: row.webhookId,
    url: row.url,
    taskId: row.taskId,
    state: row.status,
    dateDone: row.dateDone,
    attempts: row.attempts,
    lastError: row.lastError,
    deadAt: row.deadAt ?? row.createdAt,
  };
}

export function startDispatcher(
  driver: Driver,
  options: WebhookDispatcherOptions,
  onStop: (d: WebhookDispatcher) => void,
): WebhookDispatcher {
  const dispatcher: WebhookDispatcher = new WebhookDispatcher(driver, options, () => onStop(dispatcher));
  return dispatcher;
}
