CREATE TABLE "celery_taskmeta_webhook" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "celery_taskmeta_webhook_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"url" text NOT NULL,
	"match" text DEFAULT '' NOT NULL,
	"task_id" varchar(155),
	"name_pattern" text,
	"secret" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "celery_taskmeta_webhook_outbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "celery_taskmeta_webhook_outbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"webhook_id" integer NOT NULL,
	"task_id" varchar(155) NOT NULL,
	"status" varchar(50) NOT NULL,
	"date_done" timestamp,
	"created_at" bigint NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" bigint DEFAULT 0 NOT NULL,
	"claimed_until" bigint,
	"last_error" text,
	"dead_at" bigint
);
--> statement-breakpoint
ALTER TABLE "celery_taskmeta_webhook_outbox" ADD CONSTRAINT "fk_celery_taskmeta_webhook_outbox_webhook" FOREIGN KEY ("webhook_id") REFERENCES "public"."celery_taskmeta_webhook"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_webhook_task_id" ON "celery_taskmeta_webhook" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_webhook_outbox_due" ON "celery_taskmeta_webhook_outbox" USING btree ("next_attempt_at","id") WHERE dead_at IS NULL;--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_webhook_outbox_dead" ON "celery_taskmeta_webhook_outbox" USING btree ("dead_at") WHERE dead_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_webhook_outbox_webhook_id" ON "celery_taskmeta_webhook_outbox" USING btree ("webhook_id");--> statement-breakpoint
-- Written by hand below this line (functions and triggers drizzle-kit cannot model).
-- The outbox is fed by the database, so a ready state committed by any writer (Python Celery
-- included) is delivered: one outbox row per matching webhook when a row becomes ready (inserted
-- ready, or updated into a ready state from another state). Statement-level over transition
-- tables, like the history triggers, so a batch pays one call; and a store with no webhook
-- registered pays one probe of an empty table.
CREATE OR REPLACE FUNCTION "celery_taskmeta_webhook_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "celery_taskmeta_webhook") THEN RETURN NULL; END IF;
  INSERT INTO "celery_taskmeta_webhook_outbox" (webhook_id, task_id, status, date_done, created_at)
  SELECT m.webhook_id, m.task_id, m.status, m.date_done, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  FROM (
    SELECT w.id AS webhook_id, n.id, n.task_id, n.status, n.date_done
    FROM new_rows AS n JOIN "celery_taskmeta_webhook" AS w ON w.task_id = n.task_id
    WHERE n.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
    UNION ALL
    SELECT w.id, n.id, n.task_id, n.status, n.date_done
    FROM new_rows AS n JOIN "celery_taskmeta_webhook" AS w ON w.task_id IS NULL AND (w.name_pattern IS NULL OR n.name LIKE w.name_pattern)
    WHERE n.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
  ) AS m ORDER BY m.id, m.webhook_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "celery_taskmeta_webhook_on_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM "celery_taskmeta_webhook") THEN RETURN NULL; END IF;
  INSERT INTO "celery_taskmeta_webhook_outbox" (webhook_id, task_id, status, date_done, created_at)
  SELECT m.webhook_id, m.task_id, m.status, m.date_done, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  FROM (
    SELECT w.id AS webhook_id, n.id, n.task_id, n.status, n.date_done
    FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id JOIN "celery_taskmeta_webhook" AS w ON w.task_id = n.task_id
    WHERE n.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND o.status IS DISTINCT FROM n.status
    UNION ALL
    SELECT w.id, n.id, n.task_id, n.status, n.date_done
    FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
      JOIN "celery_taskmeta_webhook" AS w ON w.task_id IS NULL AND (w.name_pattern IS NULL OR n.name LIKE w.name_pattern)
    WHERE n.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND o.status IS DISTINCT FROM n.status
  ) AS m ORDER BY m.id, m.webhook_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_webhook_insert" AFTER INSERT ON "celery_taskmeta"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "celery_taskmeta_webhook_on_insert"();
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_webhook_update" AFTER UPDATE ON "celery_taskmeta"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "celery_taskmeta_webhook_on_update"();
--> statement-breakpoint
-- Status streams follow every change of state, not only ready ones, so the notify trigger now
-- fires on any insert and on updates that change the status. It still notifies only ids someone
-- registered interest in; a commit nobody watches pays one probe of the interest table.
DROP TRIGGER IF EXISTS "celery_taskmeta_tl_notify" ON "celery_taskmeta";
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_notify" AFTER INSERT ON "celery_taskmeta"
  FOR EACH ROW EXECUTE FUNCTION "celery_taskmeta_notify_ready"('taskledger_celery_taskmeta');
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_notify_update" AFTER UPDATE ON "celery_taskmeta"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION "celery_taskmeta_notify_ready"('taskledger_celery_taskmeta');
