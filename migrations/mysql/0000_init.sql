-- Written by hand above the generated statements: Celery's sequences, which the id columns'
-- DEFAULT draws from (MariaDB's Celery, with SQLAlchemy 1.4+, writes NEXTVAL(task_id_sequence) into its INSERTs).
CREATE SEQUENCE IF NOT EXISTS `task_id_sequence`;
--> statement-breakpoint
CREATE SEQUENCE IF NOT EXISTS `taskset_id_sequence`;
--> statement-breakpoint
CREATE TABLE `celery_taskmeta` (
	`id` int NOT NULL DEFAULT (NEXTVAL(`task_id_sequence`)),
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`status` varchar(50),
	`result` longblob,
	`date_done` datetime(6),
	`traceback` longtext,
	`name` varchar(155),
	`args` longblob,
	`kwargs` longblob,
	`worker` varchar(155),
	`retries` int,
	`queue` varchar(155),
	`children` longblob,
	`parent_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`group_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`date_updated` datetime(6),
	CONSTRAINT `celery_taskmeta_id` PRIMARY KEY(`id`),
	CONSTRAINT `celery_taskmeta_task_id_key` UNIQUE(`task_id`)
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta_changes` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`at` datetime(6) NOT NULL,
	CONSTRAINT `celery_taskmeta_changes_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta_history` (
	`id` bigint AUTO_INCREMENT NOT NULL,
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`status` varchar(50),
	`date` datetime(6),
	`worker` varchar(155),
	`retries` int,
	`queue` varchar(155),
	`result` longblob,
	`traceback` longtext,
	CONSTRAINT `celery_taskmeta_history_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta_hold` (
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`held_at` datetime(6) NOT NULL,
	`reason` text,
	CONSTRAINT `celery_taskmeta_hold_task_id` PRIMARY KEY(`task_id`)
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta_interest` (
	`task_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	`listener` varchar(64) NOT NULL,
	`since` datetime(6) NOT NULL,
	CONSTRAINT `celery_taskmeta_interest_task_id_listener_pk` PRIMARY KEY(`task_id`,`listener`)
);
--> statement-breakpoint
CREATE TABLE `celery_tasksetmeta` (
	`id` int NOT NULL DEFAULT (NEXTVAL(`taskset_id_sequence`)),
	`taskset_id` varchar(155) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	`result` longblob,
	`date_done` datetime(6),
	CONSTRAINT `celery_tasksetmeta_id` PRIMARY KEY(`id`),
	CONSTRAINT `celery_tasksetmeta_taskset_id_key` UNIQUE(`taskset_id`)
);
--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_date_done` ON `celery_taskmeta` (`date_done`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_unready_date_updated` ON `celery_taskmeta` (`date_done`,`date_updated`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_status_id` ON `celery_taskmeta` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_name_id` ON `celery_taskmeta` (`name`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_worker_id` ON `celery_taskmeta` (`worker`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_queue_id` ON `celery_taskmeta` (`queue`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_group_id_id` ON `celery_taskmeta` (`group_id`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_changes_at` ON `celery_taskmeta_changes` (`at`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_history_task_id` ON `celery_taskmeta_history` (`task_id`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_tasksetmeta_date_done` ON `celery_tasksetmeta` (`date_done`);
--> statement-breakpoint
-- Written by hand below this line (triggers drizzle-kit cannot model). Row triggers, so every
-- writer's changes are recorded, Celery's too; they call no function, so a writer that knows
-- nothing of taskledger never meets a missing one. History: one row per change of state (and per
-- retry attempt), dated by what the writer stamped (date_updated, else date_done), else the
-- server clock, and never before the task's previous event (concurrent writers stamp before they
-- wait for the row lock; the lock decides the order).
CREATE TRIGGER `celery_taskmeta_tl_history_insert` AFTER INSERT ON `celery_taskmeta` FOR EACH ROW
  INSERT INTO `celery_taskmeta_history` (task_id, status, date, worker, retries, queue, result, traceback)
  VALUES (NEW.task_id, NEW.status, COALESCE(NEW.date_updated, NEW.date_done, UTC_TIMESTAMP(6)), NEW.worker, NEW.retries, NEW.queue,
          IF(NEW.status IN ('FAILURE', 'RETRY'), NEW.result, NULL),
          IF(NEW.status IN ('FAILURE', 'RETRY'), NEW.traceback, NULL));
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_history_update` AFTER UPDATE ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF NOT (OLD.status <=> NEW.status) OR NEW.status = 'RETRY' OR NOT (OLD.retries <=> NEW.retries) THEN
    INSERT INTO `celery_taskmeta_history` (task_id, status, date, worker, retries, queue, result, traceback)
    VALUES (NEW.task_id, NEW.status,
            GREATEST(
              CASE WHEN NOT (NEW.date_updated <=> OLD.date_updated) AND NEW.date_updated IS NOT NULL THEN NEW.date_updated
                   WHEN NOT (NEW.date_done <=> OLD.date_done) AND NEW.date_done IS NOT NULL THEN NEW.date_done
                   ELSE UTC_TIMESTAMP(6) END,
              COALESCE((SELECT h.date FROM `celery_taskmeta_history` AS h WHERE h.task_id = NEW.task_id ORDER BY h.id DESC LIMIT 1),
                       CAST('0001-01-01 00:00:00' AS DATETIME(6)))),
            NEW.worker, NEW.retries, NEW.queue,
            IF(NEW.status IN ('FAILURE', 'RETRY'), NEW.result, NULL),
            IF(NEW.status IN ('FAILURE', 'RETRY'), NEW.traceback, NULL));
  END IF;
END;
--> statement-breakpoint
-- History rows go with their task, whoever deletes it (forget, cleanup, Celery's cleanup).
CREATE TRIGGER `celery_taskmeta_tl_history_delete` AFTER DELETE ON `celery_taskmeta` FOR EACH ROW
  DELETE FROM `celery_taskmeta_history` WHERE task_id = OLD.task_id;
--> statement-breakpoint
-- Waking: MySQL has no LISTEN/NOTIFY, so a ready write of an id someone waits for (a row in the
-- interest table) appends a change row, which each process's poller reads by primary key.
CREATE TRIGGER `celery_taskmeta_tl_ready_insert` AFTER INSERT ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND EXISTS (SELECT 1 FROM `celery_taskmeta_interest` AS i WHERE i.task_id = NEW.task_id) THEN
    INSERT INTO `celery_taskmeta_changes` (task_id, at) VALUES (NEW.task_id, UTC_TIMESTAMP(6));
  END IF;
END;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_ready_update` AFTER UPDATE ON `celery_taskmeta` FOR EACH ROW
BEGIN
  IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED') AND EXISTS (SELECT 1 FROM `celery_taskmeta_interest` AS i WHERE i.task_id = NEW.task_id) THEN
    INSERT INTO `celery_taskmeta_changes` (task_id, at) VALUES (NEW.task_id, UTC_TIMESTAMP(6));
  END IF;
END;
