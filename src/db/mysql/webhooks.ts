/**
 * Webhooks on MySQL / MariaDB, as ../pg/webhooks.ts: the webhook table and its outbox, which
 * triggers on the task table fill (migrations/mysql/0006_webhooks.sql). A claim is one
 * transaction on one connection: due rows locked with FOR UPDATE SKIP LOCKED (MariaDB 10.6+,
 * MySQL 8), leased, then read with their webhook's url and secret, so two claims never take the
 * same row and a lease left by a killed dispatcher runs out rather than losing its rows.
 */
import type { OutboxRow, WebhookMatch, WebhookRow } from "../driver.js";
import { fromNaiveUtc } from "../naive-utc.js";
import type { Tables } from "../tables.js";
import { globToMysqlLike, matchText } from "../webhook-pattern.js";
import type { MysqlExecutor } from "./executor.js";
import { listSlices } from "./statements.js";
import { webhookStatements, type MysqlWebhookStatements } from "./webhook-statements.js";

/** last_error is TEXT (65,535 bytes): a longer message is cut rather than refused by strict mode. */
const ERROR_CHARS = 8_000;

interface RawOutbox {
  id: number | string;
  webhook_id: number;
  url: string;
  secret: string;
  task_id: string;
  status: string;
  date_done: string | null;
  created_at: number | string;
  attempts: number;
  last_error: string | null;
  dead_at: number | string | null;
}

function toOutboxRow(r: RawOutbox): OutboxRow {
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

/** Runs `body` in a transaction on one pooled connection, committed when it resolves (the driver's). */
export type MysqlTransaction = <T>(body: (run: MysqlExecutor) => Promise<T>) => Promise<T>;

export class MysqlWebhooks {
  private readonly sql: MysqlWebhookStatements;

  constructor(
    private readonly run: MysqlExecutor,
    tables: Tables,
    private readonly transaction: MysqlTransaction,
  ) {
    this.sql = webhookStatements(tables);
  }

  async webhookAdd(p: { url: string; match: WebhookMatch; secret: string; now: Date }): Promise<number> {
    const taskId = p.match.kind === "task" ? p.match.taskId : null;
    const pattern = p.match.kind === "name" ? globToMysqlLike(p.match.glob) : null;
    const result = await this.run.write(this.sql.webhookAdd, [p.url, matchText(p.match), taskId, pattern, p.secret, p.now.getTime()]);
    return result.insertId;
  }

  async webhookList(): Promise<WebhookRow[]> {
    const rows = await this.run.execute<{
      id: number;
      url: string;
      match: string;
      secret: string;
      created_at: number | string;
      pending: number | string;
      dead: number | string;
    }>(this.sql.webhookList);
    return rows.map((r) => ({
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
    let removed = 0;
    for (const slice of listSlices([...new Set(ids)]))
      removed += (await this.run.write(this.sql.webhookRemove(slice.length), slice)).affectedRows;
    return removed;
  }

  webhookClaim(p: { now: number; leaseUntil: number; limit: number }): Promise<OutboxRow[]> {
    return this.transaction(async (run) => {
      const due = await run.execute<{ id: number | string }>(this.sql.webhookDue, [p.now, p.now, p.limit]);
      if (due.length === 0) return [];
      const claimed: OutboxRow[] = [];
      for (const ids of listSlices(due.map((r) => Number(r.id)))) {
        await run.write(this.sql.webhookLease(ids.length), [p.leaseUntil, ...ids]);
        claimed.push(...(await run.execute<RawOutbox>(this.sql.webhookClaimed(ids.length), ids)).map(toOutboxRow));
      }
      return claimed;
    });
  }

  async webhookReleaseClaims(): Promise<number> {
    return (await this.run.write(this.sql.webhookReleaseClaims)).affectedRows;
  }

  async webhookDelivered(ids: readonly number[]): Promise<void> {
    for (const slice of listSlices([...new Set(ids)])) await this.run.write(this.sql.webhookDelivered(slice.length), slice);
  }

  async webhookFailed(p: { id: number; error: string; retryAt: number | null; deadAt: number }): Promise<void> {
    await this.run.write(this.sql.webhookFailed, [p.error.slice(0, ERROR_CHARS), p.retryAt, p.retryAt, p.deadAt, p.id]);
  }

  async webhookDeadLetters(p: { limit: number }): Promise<OutboxRow[]> {
    return (await this.run.execute<RawOutbox>(this.sql.webhookDeadLetters, [p.limit])).map(toOutboxRow);
  }

  async webhookReplay(p: { ids: readonly number[] | null }): Promise<number> {
    if (p.ids === null) return (await this.run.write(this.sql.webhookReplayAll)).affectedRows;
    let replayed = 0;
    for (const slice of listSlices([...new Set(p.ids)]))
      replayed += (await this.run.write(this.sql.webhookReplay(slice.length), slice)).affectedRows;
    return replayed;
  }
}
