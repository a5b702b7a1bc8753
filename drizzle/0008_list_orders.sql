-- The list's other orders, each read from an index in its order: recently changed, by title (as lower() sorts), by priority.
CREATE INDEX "todos_user_updated_idx" ON "todos" USING btree ("user_id","updated_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "todos_user_title_idx" ON "todos" USING btree ("user_id",lower("title"),"id");--> statement-breakpoint
CREATE INDEX "todos_user_priority_idx" ON "todos" USING btree ("user_id","priority","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);