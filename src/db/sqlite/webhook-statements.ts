/** The webhook and outbox statements (SQLite), built for the configured table names; used by ./webhooks.ts. */
import type { Tables } from "../tables.js";

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
