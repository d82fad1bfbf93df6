-- History in time order (written by hand: drizzle-kit cannot model triggers). A writer stamps its
-- change time before its statement waits for the write lock (busy timeout, then the backend's
-- retry), so with writers in several processes a later stamp could commit first and its task's
-- history read backwards in time. An event is dated no earlier than the task's previous event:
-- the writer's stamp where it is in order, else the previous time (one probe of the
-- (task_id, id) index per change). Inserts keep the plain rule: a new row follows no event of its
-- own task. Where history was switched off, migrate drops the trigger again (sqlite/migrate.ts).
DROP TRIGGER IF EXISTS `celery_taskmeta_tl_history_update`;
--> statement-breakpoint
CREATE TRIGGER `celery_taskmeta_tl_history_update` AFTER UPDATE ON `celery_taskmeta`
  WHEN OLD.status IS NOT NEW.status OR NEW.status = 'RETRY' OR OLD.retries IS NOT NEW.retries BEGIN
  INSERT INTO `celery_taskmeta_history` (task_id, status, date, worker, retries, queue, result, traceback)
  SELECT NEW.task_id, NEW.status,
         CASE WHEN previous.date > stamped.date THEN previous.date ELSE stamped.date END,
         NEW.worker, NEW.retries, NEW.queue,
         CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.result END,
         CASE WHEN NEW.status IN ('FAILURE', 'RETRY') THEN NEW.traceback END
  FROM (SELECT CASE WHEN NEW.date_updated IS NOT OLD.date_updated AND NEW.date_updated IS NOT NULL THEN NEW.date_updated
                    WHEN NEW.date_done IS NOT OLD.date_done AND NEW.date_done IS NOT NULL THEN NEW.date_done
                    ELSE strftime('%Y-%m-%d %H:%M:%f', 'now') || '000' END AS date) AS stamped
  LEFT JOIN (SELECT date FROM `celery_taskmeta_history` WHERE task_id = NEW.task_id ORDER BY id DESC LIMIT 1) AS previous;
END;
