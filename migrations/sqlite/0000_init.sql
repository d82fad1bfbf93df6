CREATE TABLE `taskledger_lock` (
	`name` text PRIMARY KEY NOT NULL,
	`holder` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `celery_taskmeta` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`task_id` VARCHAR(155),
	`status` VARCHAR(50),
	`result` BLOB,
	`date_done` DATETIME,
	`traceback` text,
	`name` VARCHAR(155),
	`args` BLOB,
	`kwargs` BLOB,
	`worker` VARCHAR(155),
	`retries` integer,
	`queue` VARCHAR(155),
	`children` BLOB,
	`parent_id` VARCHAR(155),
	`group_id` VARCHAR(155),
	`date_updated` DATETIME
);
--> statement-breakpoint
CREATE UNIQUE INDEX `celery_taskmeta_task_id_key` ON `celery_taskmeta` (`task_id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_date_done` ON `celery_taskmeta` (`date_done`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_unready_date_updated` ON `celery_taskmeta` (`date_updated`) WHERE date_done IS NULL;--> statement-breakpoint
CREATE TABLE `celery_tasksetmeta` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`taskset_id` VARCHAR(155),
	`result` BLOB,
	`date_done` DATETIME
);
--> statement-breakpoint
CREATE UNIQUE INDEX `celery_tasksetmeta_taskset_id_key` ON `celery_tasksetmeta` (`taskset_id`);--> statement-breakpoint
CREATE INDEX `ix_celery_tasksetmeta_date_done` ON `celery_tasksetmeta` (`date_done`);