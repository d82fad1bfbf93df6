-- Custom SQL migration file, put your code below! --
-- The update trigger again, for parity with the other dialects' 0005 (an event is dated no earlier
-- than the task's previous one, see 0000_init): dropped and created, so a database whose history
-- was switched off keeps it off (the migrator drops the history triggers again afterwards).
DROP TRIGGER IF EXISTS `celery_taskmeta_tl_history_update`;
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
