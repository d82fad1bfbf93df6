CREATE TABLE `celery_taskmeta_history` (
	`id` integer PRIMARY KEY NOT NULL,
	`task_id` VARCHAR(155),
	`status` VARCHAR(50),
	`date` DATETIME,
	`worker` VARCHAR(155),
	`retries` integer,
	`queue` VARCHAR(155),
	`result` BLOB,
	`traceback` text
);
--> statement-breakpoint
CREATE INDEX `ix_celery_taskmeta_history_task_id` ON `celery_taskmeta_history` (`task_id`,`id`);--> statement-breakpoint
-- #11, written by hand below this line: history kept by triggers, so Celery's writes are recorded
-- too. The change time is what the writer stamped (taskledger's date_updated, else Celery's
-- date_done), else the database clock. SQLite needs no notify trigger: waiters watch data_version.
CREATE TRIGGER `celery_taskmeta_tl_history_insert` AFTER INSERT ON `celery_taskmeta` BEGIN
  INSERT INTO `celery_taskmeta_history` (task_id, status, date, worker, retries, queue, result, traceback)
  VALUES (NEW.task_id, NEW.status, COALESCE(NEW.date_updated, NEW.date_done, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'),
          NEW.worker, NEW.retries, NEW.queue,
          CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.result END,
          CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.traceback END);
END;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_history_update` AFTER UPDATE ON `celery_taskmeta`
  WHEN OLD.status IS NOT NEW.status OR NEW.status = 'RETRY' OR OLD.retries IS NOT NEW.retries BEGIN
  INSERT INTO `celery_taskmeta_history` (task_id, status, date, worker, retries, queue, result, traceback)
  VALUES (NEW.task_id, NEW.status,
          CASE WHEN NEW.date_updated IS NOT OLD.date_updated AND NEW.date_updated IS NOT NULL THEN NEW.date_updated
               WHEN NEW.date_done IS NOT OLD.date_done AND NEW.date_done IS NOT NULL THEN NEW.date_done
               ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') || '000' END,
          NEW.worker, NEW.retries, NEW.queue,
          CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.result END,
          CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.traceback END);
END;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_history_delete` AFTER DELETE ON `celery_taskmeta` BEGIN
  DELETE FROM `celery_taskmeta_history` WHERE task_id = OLD.task_id;
END;
