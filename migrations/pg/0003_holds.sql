CREATE TABLE "celery_taskmeta_hold" (
	"task_id" varchar(155) PRIMARY KEY NOT NULL,
	"held_at" timestamp NOT NULL,
	"reason" text
);
