/**
 * Webhooks on PostgreSQL: the webhook table and its outbox, which triggers on the task table fill
 * (migrations/pg/0006_webhooks.sql). A claim is one statement (one transaction): due rows chosen
 * with FOR UPDATE SKIP LOCKED and leased, so two claims never take the same row, and a lease
 * left by a killed dispatcher runs out rather than losing its rows.
 */
import type { OutboxRow, WebhookMatch, WebhookRow } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { globToLike, matchText } from "../webhook-pattern.js";
import type { PgExecutor } from "./executor.js";

interface RawOutbox {
  id: string | number;
  webhook_id: number;
  url: string;
  secret: string;
  task_id: string;
  status: string;
  date_done: string | null;
  created_at: string | number;
  attempts: number;
  last_error: string | null;
  dead_at: string | number | null;
}

export function toOutboxRow(r: RawOutbox): OutboxRow {
  return {
    id: Number(r.id),
    webhookId: Number(r.webhook_id),
    url: r.url,
    secret: r.secret,
    taskId: r.task_id,
    status: r.status,
    dateDone: fromNaiveUtc(r.date_done),
    createdAt: new Date(Number(r.created_at)),
    attempts: Number(r.attempts),
    lastError: r.last_error,
    deadAt: r.dead_at === null ? null : new Date(Number(r.dead_at)),
  };
}

export class PgWebhooks {
  constructor(private readonly exec: PgExecutor) {}

  async webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    const taskId = p.match.kind === "task" ? p.match.taskId : null;
    const pattern = p.match.kind === "name" ? globToLike(p.match.glob) : null;
    const result = await this.exec.statement<{ id: number }>("webhookAdd", [
      p.url,
      matchText(p.match),
      taskId,
      pattern,
      p.secret,
      p.now.getTime(),
    ]);
    return Number(result.rows[0]!.id);
  }

  async webhookList(): Promise<WebhookRow[]> {
    const result = await this.exec.statement<{
      id: number;
      url: string;
      match: string;
      secret: string;
      created_at: string;
      pending: number;
      dead: number;
    }>("webhookList", []);
    return result.rows.map((r) => ({
      id: Number(r.id),
      url: r.url,
      match: r.match,
      secret: r.secret,
      createdAt: new Date(Number(r.created_at)),
      pending: Number(r.pending),
      dead: Number(r.dead),
    }));
  }

  async webhookRemove(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.exec.statement("webhookRemove", [ids])).rowCount ?? 0;
  }

  async webhookClaim(p: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]> {
    return (await this.exec.statement<RawOutbox>("webhookClaim", [p.now, p.leaseUntil, p.limit])).rows.map(toOutboxRow);
  }

  async webhookReleaseClaims(): Promise<number> {
    return (await this.exec.statement("webhookReleaseClaims", [])).rowCount ?? 0;
  }

  async webhookDelivered(ids: readonly number[]): Promise<void> {
    if (ids.length > 0) await this.exec.statement("webhookDelivered", [ids]);
  }

  async webhookFailed(p: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void> {
    await this.exec.statement("webhookFailed", [p.id, p.error, p.retryAt, p.deadAt]);
  }

  async webhookDeadLetters(p: { limit: number }): Promise<OutboxRow[]> {
    return (await this.exec.statement<RawOutbox>("webhookDeadLetters", [p.limit])).rows.map(toOutboxRow);
  }

  async webhookReplay(p: { ids: readonly number[] | null }): Promise<number> {
    return (await this.exec.statement("webhookReplay", [p.ids])).rowCount ?? 0;
  }
}
