/**
 * Webhooks on SQLite, as ../pg/webhooks.ts. Unlike PostgreSQL there is no SKIP LOCKED: a claim
 * is one IMMEDIATE transaction, and SQLite's single writer is what keeps two claims apart; the
 * lease still frees a killed dispatcher's rows. Outbox rows are deleted explicitly with their
 * webhook, since a connection without `PRAGMA foreign_keys` (Python's sqlite3) skips the cascade.
 */
import type { OutboxRow, WebhookMatch, WebhookRow } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import { globToSqliteGlob, matchText } from "../webhook-pattern.js";
import type { SqliteExecutor } from "./executor.js";

const OUTBOX_COLUMNS = "o.id, o.webhook_id, o.task_id, o.status, o.date_done, o.created_at, o.attempts, o.last_error, o.dead_at";

export function webhookStatements(t: Tables) {
  return {
    webhookAdd: `
      INSERT INTO ${t.webhook} (url, match, task_id, name_pattern, secret, created_at)
      VALUES (@url, @match, @task_id, @pattern, @secret, @now) RETURNING id`,
    webhookList: `
      SELECT w.id, w.url, w.match, w.secret, w.created_at,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NULL) AS pending,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NOT NULL) AS dead
      FROM ${t.webhook} AS w ORDER BY w.id`,
    webhookRemoveOutbox: `DELETE FROM ${t.webhookOutbox} WHERE webhook_id IN (SELECT value FROM json_each(?))`,
    webhookRemove: `DELETE FROM ${t.webhook} WHERE id IN (SELECT value FROM json_each(?))`,
    webhookLease: `
      UPDATE ${t.webhookOutbox} SET claimed_until = @lease_until WHERE id IN (
        SELECT id FROM ${t.webhookOutbox}
        WHERE dead_at IS NULL AND next_attempt_at <= @now AND (claimed_until IS NULL OR claimed_until < @now)
        ORDER BY next_attempt_at, id LIMIT @limit) RETURNING id`,
    webhookClaimed: `
      SELECT ${OUTBOX_COLUMNS}, w.url, w.secret FROM ${t.webhookOutbox} AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id
      WHERE o.id IN (SELECT value FROM json_each(?)) ORDER BY o.id`,
    webhookReleaseClaims: `UPDATE ${t.webhookOutbox} SET claimed_until = NULL WHERE claimed_until IS NOT NULL`,
    webhookDelivered: `DELETE FROM ${t.webhookOutbox} WHERE id IN (SELECT value FROM json_each(?))`,
    webhookFailed: `
      UPDATE ${t.webhookOutbox} SET attempts = attempts + 1, last_error = @error, claimed_until = NULL,
        next_attempt_at = COALESCE(@retry_at, next_attempt_at), dead_at = CASE WHEN @retry_at IS NULL THEN @dead_at END
      WHERE id = @id`,
    webhookDeadLetters: `
      SELECT ${OUTBOX_COLUMNS}, w.url, w.secret FROM ${t.webhookOutbox} AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id
      WHERE o.dead_at IS NOT NULL ORDER BY o.dead_at DESC, o.id DESC LIMIT ?`,
    webhookReplay: `
      UPDATE ${t.webhookOutbox} SET dead_at = NULL, attempts = 0, next_attempt_at = 0, claimed_until = NULL
      WHERE dead_at IS NOT NULL AND (@ids IS NULL OR id IN (SELECT value FROM json_each(@ids)))`,
  };
}

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
