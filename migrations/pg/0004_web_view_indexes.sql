CREATE INDEX "ix_celery_taskmeta_status_id" ON "celery_taskmeta" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_name_id" ON "celery_taskmeta" USING btree ("name","id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_worker_id" ON "celery_taskmeta" USING btree ("worker","id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_queue_id" ON "celery_taskmeta" USING btree ("queue","id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_group_id_id" ON "celery_taskmeta" USING btree ("group_id","id");--> statement-breakpoint
CREATE INDEX "ix_celery_taskmeta_task_id_pattern" ON "celery_taskmeta" USING btree ("task_id" varchar_pattern_ops);