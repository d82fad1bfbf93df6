CREATE TABLE `celery_taskmeta_hold` (
	`task_id` VARCHAR(155) PRIMARY KEY NOT NULL,
	`held_at` DATETIME NOT NULL,
	`reason` text
);
