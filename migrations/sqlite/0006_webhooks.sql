CREATE TABLE `celery_taskmeta_webhook` (
	`id` integer PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`match` text DEFAULT '' NOT NULL,
	`task_id` VARCHAR(155),
	`name_pattern` text,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_task_id` ON `celery_taskmeta_webhook` (`task_id`);--> statement-breakpoint
CREATE TABLE `celery_taskmeta_webhook_outbox` (
	`id` integer PRIMARY KEY NOT NULL,
	`webhook_id` integer NOT NULL,
	`task_id` VARCHAR(155) NOT NULL,
	`status` VARCHAR(50) NOT NULL,
	`date_done` DATETIME,
	`created_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer DEFAULT 0 NOT NULL,
	`claimed_until` integer,
	`last_error` text,
	`dead_at` integer,
	FOREIGN KEY (`webhook_id`) REFERENCES `celery_taskmeta_webhook`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_due` ON `celery_taskmeta_webhook_outbox` (`next_attempt_at`,`id`) WHERE dead_at IS NULL;--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_dead` ON `celery_taskmeta_webhook_outbox` (`dead_at`) WHERE dead_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_webhook_id` ON `celery_taskmeta_webhook_outbox` (`webhook_id`);--> statement-breakpoint
-- Written by hand below this line (triggers drizzle-kit cannot model). The outbox is fed by the
-- database, so a ready state committed by any writer (Python Celery included) is delivered: one
-- outbox row per matching webhook when a row becomes ready. The WHEN clause probes the webhook
-- table first, so a store with no webhook registered runs no trigger body.
CREATE TRIGGER `celery_taskmeta_tl_webhook_insert` AFTER INSERT ON `celery_taskmeta`
  WHEN NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND EXISTS (SELECT 1 FROM `celery_taskmeta_webhook`) BEGIN
  INSERT INTO `celery_taskmeta_webhook_outbox` (webhook_id, task_id, status, date_done, created_at)
  SELECT w.id, NEW.task_id, NEW.status, NEW.date_done, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  FROM `celery_taskmeta_webhook` AS w
  WHERE w.task_id = NEW.task_id OR (w.task_id IS NULL AND (w.name_pattern IS NULL OR NEW.name GLOB w.name_pattern))
  ORDER BY w.id;
END;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_webhook_update` AFTER UPDATE ON `celery_taskmeta`
  WHEN NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND OLD.status IS NOT NEW.status
    AND EXISTS (SELECT 1 FROM `celery_taskmeta_webhook`) BEGIN
  INSERT INTO `celery_taskmeta_webhook_outbox` (webhook_id, task_id, status, date_done, created_at)
  SELECT w.id, NEW.task_id, NEW.status, NEW.date_done, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  FROM `celery_taskmeta_webhook` AS w
  WHERE w.task_id = NEW.task_id OR (w.task_id IS NULL AND (w.name_pattern IS NULL OR NEW.name GLOB w.name_pattern))
  ORDER BY w.id;
END;
