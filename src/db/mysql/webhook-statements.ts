/** The webhook and outbox statements (MySQL), built for the configured table names; used by ./webhooks.ts. */
import type { Tables } from "../tables.js";
import { placeholders } from "./statements.js";

const OUTBOX_COLUMNS = "o.id, o.webhook_id, o.task_id, o.status, o.date_done, o.created_at, o.attempts, o.last_error, o.dead_at";

export function webhookStatements(t: Tables) {
  return {
    webhookAdd: `INSERT INTO ${t.webhook} (url, \`match\`, task_id, name_pattern, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
    webhookList: `
      SELECT w.id, w.url, w.\`match\`, w.secret, w.created_at,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NULL) AS pending,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NOT NULL) AS dead
      FROM ${t.webhook} AS w ORDER BY w.id`,
    // The foreign key's ON DELETE CASCADE takes the webhook's outbox rows with it (affectedRows counts the webhooks only).
    webhookRemove: (n: number) => `DELETE FROM ${t.webhook} WHERE id IN (${placeholders(n)})`,
    // Inside one transaction (./webhooks.ts): due rows locked, skipping rows another claim holds (MariaDB 10.6+, MySQL 8).
    webhookDue: `
      SELECT id FROM ${t.webhookOutbox}
      WHERE dead_at IS NULL AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)
      ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`,
    webhookLease: (n: number) => `UPDATE ${t.webhookOutbox} SET claimed_until = ? WHERE id IN (${placeholders(n)})`,
    webhookClaimed: (n: number) => `
      SELECT ${OUTBOX_COLUMNS}, w.url, w.secret FROM ${t.webhookOutbox} AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id
      WHERE o.id IN (${placeholders(n)}) ORDER BY o.id`,
    webhookReleaseClaims: `UPDATE ${t.webhookOutbox} SET claimed_until = NULL WHERE claimed_until IS NOT NULL`,
    webhookDelivered: (n: number) => `DELETE FROM ${t.webhookOutbox} WHERE id IN (${placeholders(n)})`,
    // Values: error, retryAt, retryAt, deadAt, id. MySQL assigns left to right; no assignment reads another's column.
    webhookFailed: `
      UPDATE ${t.webhookOutbox} SET attempts = attempts + 1, last_error = ?, claimed_until = NULL,
        next_attempt_at = COALESCE(?, next_attempt_at), dead_at = CASE WHEN ? IS NULL THEN ? END
      WHERE id = ?`,
    webhookDeadLetters: `
      SELECT ${OUTBOX_COLUMNS}, w.url, w.secret FROM ${t.webhookOutbox} AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id
      WHERE o.dead_at IS NOT NULL ORDER BY o.dead_at DESC, o.id DESC LIMIT ?`,
    webhookReplayAll: `
      UPDATE ${t.webhookOutbox} SET dead_at = NULL, attempts = 0, next_attempt_at = 0, claimed_until = NULL WHERE dead_at IS NOT NULL`,
    webhookReplay: (n: number) => `
      UPDATE ${t.webhookOutbox} SET dead_at = NULL, attempts = 0, next_attempt_at = 0, claimed_until = NULL
      WHERE dead_at IS NOT NULL AND id IN (${placeholders(n)})`,
  };
}

export type MysqlWebhookStatements = ReturnType<typeof webhookStatements>;
