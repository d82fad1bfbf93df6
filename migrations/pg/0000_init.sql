CREATE SEQUENCE "public"."task_id_sequence" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE SEQUENCE "public"."taskset_id_sequence" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "celery_taskmeta" (
	"id" integer PRIMARY KEY DEFAULT nextval('task_id_sequence') NOT NULL,
	"task_id" varchar(155),
	"status" varchar(50),
	"result" "bytea",
	"date_done" timestamp,
	"traceback" text,
	"name" varchar(155),
	"args" "bytea",
	"kwargs" "bytea",
	"worker" varchar(155),
	"retries" integer,
	"queue" varchar(155),
	"children" "bytea",
	"parent_id" varchar(155),
	"group_id" varchar(155),
	"date_updated" timestamp,
	CONSTRAINT "celery_taskmeta_task_id_key" UNIQUE("task_id")
);
--> statement-breakpoint
CREATE TABLE "celery_tasksetmeta" (
	"id" integer PRIMARY KEY DEFAULT nextval('taskset_id_sequence') NOT NULL,
	"taskset_id" varchar(155),
	"result" "bytea",
	"date_done" timestamp,
	CONSTRAINT "celery_tasksetmeta_taskset_id_key" UNIQUE("taskset_id")
);
--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_date_done" ON "celery_taskmeta" USING btree ("date_done");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_unready_date_updated" ON "celery_taskmeta" USING btree ("date_updated") WHERE date_done IS NULL;--> statement-breakpoint
CREATE INDEX "ix_celery_tasksetmeta_date_done" ON "celery_tasksetmeta" USING btree ("date_done");