/**
 * Webhooks on SQLite, as ../pg/webhooks.ts. Unlike PostgreSQL there is no SKIP LOCKED: a claim
 * is one IMMEDIATE transaction, and SQLite's single writer is what keeps two claims apart; the
 * lease still frees a killed dispatcher's rows. Outbox rows are deleted explicitly with their
 * webhook, since a connection without `PRAGMA foreign_keys` (Python's sqlite3) skips the cascade.
 */
import type { OutboxRow, WebhookMatch, WebhookRow } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import { globToSqliteGlob, matchText } from "../webhook-pattern.js";
import type { SqliteExecutor } from "./executor.js";

interface RawOutbox {
  id: number;
  webhook_id: number;
  url: string;
  secret: string;
  task_id: string;
  status: string;
  date_done: string | null;
  created_at: number;
  attempts: number;
  last_error: string | null;
  dead_at: number | null;
}

function toOutboxRow(r: RawOutbox): OutboxRow {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    url: r.url,
    secret: r.secret,
    taskId: r.task_id,
    status: r.status,
    dateDone: fromNaiveUtc(r.date_done),
    createdAt: new Date(r.created_at),
    attempts: r.attempts,
    lastError: r.last_error,
    deadAt: r.dead_at === null ? null : new Date(r.dead_at),
  };
}

export class SqliteWebhooks {
  constructor(private readonly exec: SqliteExecutor) {}

  webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    return this.exec.run(
      () =>
        (
          this.exec.statements.webhookAdd.get({
            url: p.url,
            match: matchText(p.match),
            task_id: p.match.kind === "task" ? p.match.taskId : null,
            pattern: p.match.kind === "name" ? globToSqliteGlob(p.match.glob) : null,
            secret: p.secret,
            now: p.now.getTime(),
          }) as { id: number }
        ).id,
    );
  }

  webhookList(): Promise<WebhookRow[]> {
    return this.exec.run(() =>
      (
        this.exec.statements.webhookList.all() as {
          id: number;
          url: string;
          match: string;
          secret: string;
          created_at: number;
          pending: number;
          dead: number;
        }[]
      ).map((r) => ({
        id: r.id,
        url: r.url,
        match: r.match,
        secret: r.secret,
        createdAt: new Date(r.created_at),
        pending: r.pending,
        dead: r.dead,
      })),
    );
  }

  webhookRemove(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    const s = this.exec.statements;
    return this.exec.run(() =>
      this.exec.immediate(() => {
        s.webhookRemoveOutbox.run(JSON.stringify(ids));
        return s.webhookRemove.run(JSON.stringify(ids)).changes;
      }),
    );
  }

  webhookClaim(p: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]> {
    const s = this.exec.statements;
    return this.exec.run(() =>
      this.exec.immediate(() => {
        const ids = (s.webhookLease.all({ now: p.now, lease_until: p.leaseUntil, limit: p.limit }) as { id: number }[]).map((r) => r.id);
        if (ids.length === 0) return [];
        return (s.webhookClaimed.all(JSON.stringify(ids)) as RawOutbox[]).map(toOutboxRow);
      }),
    );
  }

  webhookReleaseClaims(): Promise<number> {
    return this.exec.run(() => this.exec.statements.webhookReleaseClaims.run().changes);
  }

  webhookDelivered(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.exec.run(() => {
      this.exec.statements.webhookDelivered.run(JSON.stringify(ids));
    });
  }

  webhookFailed(p: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void> {
    return this.exec.run(() => {
      this.exec.statements.webhookFailed.run({ id: p.id, error: p.error, retry_at: p.retryAt, dead_at: p.deadAt });
    });
  }

  webhookDeadLetters(p: { limit: number }): Promise<OutboxRow[]> {
    return this.exec.run(() => (this.exec.statements.webhookDeadLetters.all(p.limit) as RawOutbox[]).map(toOutboxRow));
  }

  webhookReplay(p: { ids: readonly number[] | null }): Promise<number> {
    return this.exec.run(() => this.exec.statements.webhookReplay.run({ ids: p.ids === null ? null : JSON.stringify(p.ids) }).changes);
  }
}
