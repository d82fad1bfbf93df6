CREATE TABLE "celery_taskmeta_history" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "celery_taskmeta_history_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"task_id" varchar(155),
	"status" varchar(50),
	"date" timestamp,
	"worker" varchar(155),
	"retries" integer,
	"queue" varchar(155),
	"result" "bytea",
	"traceback" text
);
--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_history_task_id" ON "celery_taskmeta_history" USING btree ("task_id","id");--> statement-breakpoint
-- #11, written by hand below this line (triggers, functions and an UNLOGGED table drizzle-kit cannot model).
-- Waiters register the task ids they wait for here; the notify trigger only notifies for these ids.
-- UNLOGGED: no WAL per registration, and emptied after a server crash, which is harmless because
-- listeners register their ids again when they reconnect. Entries of a crashed waiter age out by `since`.
CREATE UNLOGGED TABLE IF NOT EXISTS "celery_taskmeta_interest" (
	"task_id" varchar(155) NOT NULL,
	"listener" varchar(64) NOT NULL,
	"since" timestamp DEFAULT timezone('UTC', now()) NOT NULL,
	PRIMARY KEY ("task_id", "listener")
);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "celery_taskmeta_notify_ready"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Interest, not broadcast: NOTIFY takes a database-wide lock at commit that serializes every
  -- notifying commit (0.37x of raw with 8 callers before #11), so only ids someone waits for pay it.
  IF EXISTS (SELECT 1 FROM "celery_taskmeta_interest" WHERE task_id = NEW.task_id) THEN
    PERFORM pg_notify(TG_ARGV[0], json_build_array(NEW.task_id)::text);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_notify" AFTER INSERT OR UPDATE ON "celery_taskmeta"
  FOR EACH ROW WHEN (NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED'))
  EXECUTE FUNCTION "celery_taskmeta_notify_ready"('taskledger_celery_taskmeta');
--> statement-breakpoint
-- History (#11): statement-level triggers over transition tables, so a 10,000-row batch appends its
-- history in one INSERT ... SELECT instead of 10,000 function calls. The change time is what the
-- writer stamped (taskledger's date_updated, else Celery's date_done), else the database clock.
CREATE OR REPLACE FUNCTION "celery_taskmeta_history_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "celery_taskmeta_history" (task_id, status, date, worker, retries, queue, result, traceback)
  SELECT n.task_id, n.status, COALESCE(n.date_updated, n.date_done, timezone('UTC', statement_timestamp())),
         n.worker, n.retries, n.queue,
         CASE WHEN n.status IN ('FAILURE', 'RETRY') THEN n.result END,
         CASE WHEN n.status IN ('FAILURE', 'RETRY') THEN n.traceback END
  FROM new_rows AS n ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "celery_taskmeta_history_on_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- One row per change of state, and per retry attempt (RETRY after RETRY, or a new retries count).
  INSERT INTO "celery_taskmeta_history" (task_id, status, date, worker, retries, queue, result, traceback)
  SELECT n.task_id, n.status,
         CASE WHEN n.date_updated IS DISTINCT FROM o.date_updated AND n.date_updated IS NOT NULL THEN n.date_updated
              WHEN n.date_done IS DISTINCT FROM o.date_done AND n.date_done IS NOT NULL THEN n.date_done
              ELSE timezone('UTC', statement_timestamp()) END,
         n.worker, n.retries, n.queue,
         CASE WHEN n.status IN ('FAILURE', 'RETRY') THEN n.result END,
         CASE WHEN n.status IN ('FAILURE', 'RETRY') THEN n.traceback END
  FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
  WHERE o.status IS DISTINCT FROM n.status OR n.status = 'RETRY' OR o.retries IS DISTINCT FROM n.retries
  ORDER BY n.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- History rows go with their task, whoever deletes it (forget, cleanup, Celery's cleanup). The
-- join must walk the (task_id, id) index per deleted row: the transition table has no statistics,
-- and a hash join would scan the whole history table once per cleanup batch.
CREATE OR REPLACE FUNCTION "celery_taskmeta_history_on_delete"() RETURNS trigger LANGUAGE plpgsql
  SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off AS $$
BEGIN
  DELETE FROM "celery_taskmeta_history" AS h USING old_rows AS o WHERE h.task_id = o.task_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_history_insert" AFTER INSERT ON "celery_taskmeta"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "celery_taskmeta_history_on_insert"();
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_history_update" AFTER UPDATE ON "celery_taskmeta"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "celery_taskmeta_history_on_update"();
--> statement-breakpoint
CREATE TRIGGER "celery_taskmeta_tl_history_delete" AFTER DELETE ON "celery_taskmeta"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "celery_taskmeta_history_on_delete"();
