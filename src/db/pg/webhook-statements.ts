/** The webhook and outbox statements (PostgreSQL), built for the configured table names; used by ./webhooks.ts. */
import type { Tables } from "../tables.js";

const OUTBOX_COLUMNS = "o.id, o.webhook_id, o.task_id, o.status, o.date_done, o.created_at, o.attempts, o.last_error, o.dead_at";

export function webhookStatements(t: Tables) {
  return {
    webhookAdd: `
      INSERT INTO ${t.webhook} (url, match, task_id, name_pattern, secret, created_at)
      VALUES ($1::text, $2::text, $3::varchar, $4::text, $5::text, $6::bigint) RETURNING id`,
    webhookList: `
      SELECT w.id, w.url, w.match, w.secret, w.created_at,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NULL)::int AS pending,
        (SELECT count(*) FROM ${t.webhookOutbox} AS o WHERE o.webhook_id = w.id AND o.dead_at IS NOT NULL)::int AS dead
      FROM ${t.webhook} AS w ORDER BY w.id`,
    // The foreign key's ON DELETE CASCADE takes the webhook's outbox rows with it.
    webhookRemove: `DELETE FROM ${t.webhook} WHERE id = ANY($1::int[])`,
    webhookClaim: `
      WITH due AS (
        SELECT id FROM ${t.webhookOutbox}
        WHERE dead_at IS NULL AND next_attempt_at <= $1::bigint AND (claimed_until IS NULL OR claimed_until < $1::bigint)
        ORDER BY next_attempt_at, id LIMIT $3::int FOR UPDATE SKIP LOCKED),
      claimed AS (
        UPDATE ${t.webhookOutbox} AS o SET claimed_until = $2::bigint FROM due WHERE o.id = due.id
        RETURNING ${OUTBOX_COLUMNS})
      SELECT o.*, w.url, w.secret FROM claimed AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id ORDER BY o.id`,
    webhookReleaseClaims: `UPDATE ${t.webhookOutbox} SET claimed_until = NULL WHERE claimed_until IS NOT NULL`,
    webhookDelivered: `DELETE FROM ${t.webhookOutbox} WHERE id = ANY($1::bigint[])`,
    webhookFailed: `
      UPDATE ${t.webhookOutbox} SET attempts = attempts + 1, last_error = $2::text, claimed_until = NULL,
        next_attempt_at = COALESCE($3::bigint, next_attempt_at), dead_at = CASE WHEN $3::bigint IS NULL THEN $4::bigint END
      WHERE id = $1::bigint`,
    webhookDeadLetters: `
      SELECT ${OUTBOX_COLUMNS}, w.url, w.secret FROM ${t.webhookOutbox} AS o JOIN ${t.webhook} AS w ON w.id = o.webhook_id
      WHERE o.dead_at IS NOT NULL ORDER BY o.dead_at DESC, o.id DESC LIMIT $1::int`,
    webhookReplay: `
      UPDATE ${t.webhookOutbox} SET dead_at = NULL, attempts = 0, next_attempt_at = 0, claimed_until = NULL
      WHERE dead_at IS NOT NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))`,
  };
}
