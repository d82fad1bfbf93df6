CREATE TABLE `celery_taskmeta_webhook` (
	`id` int AUTO_INCREMENT NOT NULL,
	`url` text NOT NULL,
	`match` text NOT NULL DEFAULT (''),
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`name_pattern` text,
	`secret` text NOT NULL,
	`created_at` bigint NOT NULL,
	CONSTRAINT `celery_taskmeta_webhook_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta_webhook_outbox` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`webhook_id` int NOT NULL,
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`status` varchar(50) NOT NULL,
	`date_done` datetime(6),
	`created_at` bigint NOT NULL,
	`attempts` int NOT NULL DEFAULT 0,
	`next_attempt_at` bigint NOT NULL DEFAULT 0,
	`claimed_until` bigint,
	`last_error` text,
	`dead_at` bigint,
	CONSTRAINT `celery_taskmeta_webhook_outbox_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
ALTER TABLE `celery_taskmeta_webhook_outbox` ADD CONSTRAINT `fk_celery_taskmeta_webhook_outbox_webhook` FOREIGN KEY (`webhook_id`) REFERENCES `celery_taskmeta_webhook`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_task_id` ON `celery_taskmeta_webhook` (`task_id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_due` ON `celery_taskmeta_webhook_outbox` (`next_attempt_at`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_dead` ON `celery_taskmeta_webhook_outbox` (`dead_at`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_webhook_outbox_webhook_id` ON `celery_taskmeta_webhook_outbox` (`webhook_id`);--> statement-breakpoint
-- Written by hand below this line (triggers drizzle-kit cannot model). The outbox is fed by the
-- database, so a ready state committed by any writer (Python Celery included) is delivered: one
-- outbox row per matching webhook when a row becomes ready (inserted ready, or updated into a
-- ready state from another state). MySQL triggers have no WHEN: the IF probes the webhook table
-- first, so a store with no webhook registered inserts nothing. Names match byte for byte
-- (utf8mb4_bin): MySQL's LIKE ignores case under the default collations, PostgreSQL's does not;
-- patterns escape with '!' (webhook-pattern.ts), whatever sql_mode the trigger was created under.
-- Times are epoch milliseconds from naive UTC, so the session time zone never enters.
CREATE TRIGGER `celery_taskmeta_tl_webhook_insert` AFTER INSERT ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND EXISTS (SELECT 1 FROM `celery_taskmeta_webhook`) THEN
    INSERT INTO `celery_taskmeta_webhook_outbox` (webhook_id, task_id, status, date_done, created_at)
    SELECT w.id, NEW.task_id, NEW.status, NEW.date_done, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
    FROM `celery_taskmeta_webhook` AS w
    WHERE w.task_id = NEW.task_id
      OR (w.task_id IS NULL AND (w.name_pattern IS NULL OR CONVERT(NEW.name USING utf8mb4) COLLATE utf8mb4_bin LIKE w.name_pattern ESCAPE '!'))
    ORDER BY w.id;
  END IF;
END;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_webhook_update` AFTER UPDATE ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND NOT (OLD.status <=> NEW.status)
      AND EXISTS (SELECT 1 FROM `celery_taskmeta_webhook`) THEN
    INSERT INTO `celery_taskmeta_webhook_outbox` (webhook_id, task_id, status, date_done, created_at)
    SELECT w.id, NEW.task_id, NEW.status, NEW.date_done, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000
    FROM `celery_taskmeta_webhook` AS w
    WHERE w.task_id = NEW.task_id
      OR (w.task_id IS NULL AND (w.name_pattern IS NULL OR CONVERT(NEW.name USING utf8mb4) COLLATE utf8mb4_bin LIKE w.name_pattern ESCAPE '!'))
    ORDER BY w.id;
  END IF;
END;
--> statement-breakpoint
-- Status streams follow every change of state, not only ready ones, as the PostgreSQL notify
-- trigger does from its 0006: the change triggers of 0000_init again (dropped and created, keeping
-- their names), now recording any insert, and any update that changes the state or the retry
-- count or writes a ready state, of an id someone registered interest in. A commit nobody
-- watches still pays one probe of the interest table.
DROP TRIGGER IF EXISTS `celery_taskmeta_tl_ready_insert`;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_ready_insert` AFTER INSERT ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF EXISTS (SELECT 1 FROM `celery_taskmeta_interest` AS i WHERE i.task_id = NEW.task_id) THEN
    INSERT INTO `celery_taskmeta_changes` (task_id, at) VALUES (NEW.task_id, UTC_TIMESTAMP(6));
  END IF;
END;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `celery_taskmeta_tl_ready_update`;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_ready_update` AFTER UPDATE ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF (NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') OR NOT (OLD.status <=> NEW.status) OR NOT (OLD.retries <=> NEW.retries))
      AND EXISTS (SELECT 1 FROM `celery_taskmeta_interest` AS i WHERE i.task_id = NEW.task_id) THEN
    INSERT INTO `celery_taskmeta_changes` (task_id, at) VALUES (NEW.task_id, UTC_TIMESTAMP(6));
  END IF;
END;
