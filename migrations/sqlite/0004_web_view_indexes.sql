CREATE INDEX `ix_celery_taskmeta_status_id` ON `celery_taskmeta` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_name_id` ON `celery_taskmeta` (`name`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_worker_id` ON `celery_taskmeta` (`worker`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_queue_id` ON `celery_taskmeta` (`queue`,`id`);--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_group_id_id` ON `celery_taskmeta` (`group_id`,`id`);