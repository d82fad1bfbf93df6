/**
 * The webhook dispatcher: delivers the outbox that triggers on the task table fill, so every
 * writer's ready states are delivered, Celery's included. One dispatcher works at a time across
 * processes (the `webhooks` named lock); others wait on standby and take over when it goes.
 *
 * At least once: a row leaves the outbox only after its receiver answered 2xx. Rows are leased
 * when claimed, so a dispatcher killed mid-delivery loses nothing: its lease runs out and the
 * next claim sends them again, with the same idempotency key. A failure is retried with
 * exponential backoff and jitter, and after `maxAttempts` becomes a dead letter, kept until
 * replayed (`backend.replayDeadLetters()`, `taskledger webhooks replay`) or its webhook removed.
 */
import type { Driver, HeldLock, OutboxRow } from "../db/driver.js";
import { parseDuration, type Duration } from "../config.js";
import { ConfigError } from "../errors.js";
import { SIGNATURE_HEADER, signatureHeader } from "./webhook-signature.js";

export const WEBHOOK_LOCK = "webhooks";
export const WEBHOOK_MAX_ATTEMPTS_DEFAULT = 8;
export const WEBHOOK_INTERVAL_DEFAULT_MS = 1_000;
export const WEBHOOK_TIMEOUT_DEFAULT_MS = 10_000;
export const WEBHOOK_BACKOFF_BASE_DEFAULT_MS = 2_000;
export const WEBHOOK_BACKOFF_MAX_DEFAULT_MS = 3_600_000;
export const WEBHOOK_CONCURRENCY_DEFAULT = 16;
/** A claim's lease beyond the request timeout: room for the database round trips around it. */
const LEASE_MARGIN_MS = 30_000;

export interface WebhookDispatcherOptions {
  /** How often to look for due deliveries while the outbox is empty. Default 1 s. */
  interval?: Duration;
  /** Attempts before a delivery becomes a dead letter. Default 8. */
  maxAttempts?: number;
  /** Each request's timeout. Default 10 s. */
  timeout?: Duration;
  /** First retry delay, doubled per attempt (jittered between half and all of it). Default 2 s. */
  backoffBase?: Duration;
  /** Longest retry delay. Default 1 h. */
  backoffMax?: Duration;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Called for each attempt, delivered or not (logging, metrics, tests). */
  onAttempt?: (attempt: WebhookAttempt) => void;
  /** Errors of the dispatcher itself (database unreachable); it keeps going. Default: ignored. */
  onError?: (error: unknown) => void;
}

export interface WebhookAttempt {
  outboxId: number;
  webhookId: number;
  taskId: string;
  status: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The receiver's HTTP status, when it answered. */
  httpStatus: number | undefined;
  outcome: "delivered" | "retry" | "dead";
  error: string | undefined;
}

/** The JSON body each delivery POSTs. */
export interface WebhookPayload {
  /** The idempotency key, also sent as `Idempotency-Key`: the same for every attempt and replay of one event. */
  id: string;
  webhook_id: number;
  task_id: string;
  state: string;
  /** ISO 8601 UTC, or null. */
  date_done: string | null;
}

interface Resolved {
  intervalMs: number;
  maxAttempts: number;
  timeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  concurrency: number;
  onAttempt: ((attempt: WebhookAttempt) => void) | undefined;
  onError: (error: unknown) => void;
}

function resolve(options: WebhookDispatcherOptions): Resolved {
  const positive = (value: number | undefined, fallback: number, option: string) => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(option, `must be a whole number of at least 1 (got ${String(value)})`);
    return n;
  };
  return {
    intervalMs: parseDuration(options.interval ?? WEBHOOK_INTERVAL_DEFAULT_MS, "interval"),
    maxAttempts: positive(options.maxAttempts, WEBHOOK_MAX_ATTEMPTS_DEFAULT, "maxAttempts"),
    timeoutMs: parseDuration(options.timeout ?? WEBHOOK_TIMEOUT_DEFAULT_MS, "timeout"),
    backoffBaseMs: parseDuration(options.backoffBase ?? WEBHOOK_BACKOFF_BASE_DEFAULT_MS, "backoffBase"),
    backoffMaxMs: parseDuration(options.backoffMax ?? WEBHOOK_BACKOFF_MAX_DEFAULT_MS, "backoffMax"),
    concurrency: positive(options.concurrency, WEBHOOK_CONCURRENCY_DEFAULT, "concurrency"),
    onAttempt: options.onAttempt,
    onError: options.onError ?? (() => undefined),
  };
}

export class WebhookDispatcher {
  private readonly options: Resolved;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lock: HeldLock | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly driver: Driver,
    options: WebhookDispatcherOptions,
    private readonly onStop: () => void,
  ) {
    this.options = resolve(options);
    this.done = this.loop();
  }

  /** Whether this dispatcher holds the lock now (the others are on standby). */
  get active(): boolean {
    return this.lock !== undefined;
  }

  /** Stops after the deliveries in flight; undelivered rows stay in the outbox for the next dispatcher. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        let busy = false;
        try {
          busy = await this.tick();
        } catch (error) {
          this.options.onError(error);
        }
        if (!busy && !this.stopped) await this.pause(this.options.intervalMs);
      }
    } finally {
      await this.lock?.release().catch(() => undefined);
      this.lock = undefined;
      this.onStop();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  /** One claim and its deliveries; true when the claim was full (more may be due at once). */
  private async tick(): Promise<boolean> {
    if (this.lock?.lost()) {
      await this.lock.release().catch(() => undefined);
      this.lock = undefined;
    }
    if (!this.lock) {
      this.lock = await this.driver.lock(WEBHOOK_LOCK, { wait: false });
      if (!this.lock) return false;
      await this.driver.webhookReleaseClaims();
    }
    const now = Date.now();
    const rows = await this.driver.webhookClaim({
      now,
      leaseUntil: now + this.options.timeoutMs + LEASE_MARGIN_MS,
      limit: this.options.concurrency,
    });
    if (rows.length === 0) return false;
    const delivered: number[] = [];
    await Promise.all(
      rows.map(async (row) => {
        if (await this.deliver(row)) delivered.push(row.id);
      }),
    );
    await this.driver.webhookDelivered(delivered);
    return rows.length === this.options.concurrency;
  }

  private async deliver(row: OutboxRow): Promise<boolean> {
    const payload: WebhookPayload = {
      id: `tl-${row.id}`,
      webhook_id: row.webhookId,
      task_id: row.taskId,
      state: row.status,
      date_done: row.dateDone?.toISOString() ?? null,
    };
    const body = JSON.stringify(payload);
    let httpStatus: number | undefined;
    let error: string | undefined;
    try {
      const response = await fetch(row.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "taskledger-webhooks",
          "idempotency-key": payload.id,
          [SIGNATURE_HEADER]: signatureHeader(row.secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        // A redirect could carry the signed body to a host nobody registered.
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      httpStatus = response.status;
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        this.report(row, httpStatus, "delivered", undefined);
        return true;
      }
      error = `HTTP ${response.status}`;
    } catch (cause) {
      error = describe(cause);
    }
    const attempt = row.attempts + 1;
    const dead = attempt >= this.options.maxAttempts;
    const retryAt = dead ? null : Date.now() + this.backoff(attempt);
    await this.driver.webhookFailed({ id: row.id, error, retryAt, deadAt: Date.now() });
    this.report(row, httpStatus, dead ? "dead" : "retry", error);
    return false;
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** Math.min(30, attempt - 1));
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  private report(row: OutboxRow, httpStatus: number | undefined, outcome: WebhookAttempt["outcome"], error: string | undefined): void {
    this.options.onAttempt?.({
      outboxId: row.id,
      webhookId: row.webhookId,
      taskId: row.taskId,
      status: row.status,
      attempt: row.attempts + 1,
      httpStatus,
      outcome,
      error,
    });
  }
}

/** A failed request in words, without the URL (it may carry credentials in its query). */
function describe(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "TimeoutError") return "timed out";
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return String(error);
}
