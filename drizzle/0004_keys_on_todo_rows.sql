ALTER TABLE "todos" ADD COLUMN "idempotency_key" varchar(255);--> statement-breakpoint
ALTER TABLE "todos" ADD COLUMN "request_hash" varchar(64);--> statement-breakpoint
ALTER TABLE "todos" ADD COLUMN "deleted_at" timestamp (3) with time zone;--> statement-breakpoint
-- Moved by hand, before the table goes: a key whose todo exists moves onto the todo; a live key of a
-- deleted todo becomes that todo's deleted row, emptied, as a delete leaves one now.
UPDATE "todos" SET "idempotency_key" = k."key", "request_hash" = k."request_hash"
FROM "idempotency_keys" AS k WHERE k."user_id" = "todos"."user_id" AND k."todo_id" = "todos"."id";--> statement-breakpoint
INSERT INTO "todos" ("id", "user_id", "title", "created_at", "updated_at", "deleted_at", "idempotency_key", "request_hash")
SELECT k."todo_id", k."user_id", '', k."created_at", k."created_at", now(), k."key", k."request_hash"
FROM "idempotency_keys" AS k
WHERE k."created_at" >= now() - interval '24 hours'
  AND NOT EXISTS (SELECT FROM "todos" AS t WHERE t."user_id" = k."user_id" AND t."id" = k."todo_id");--> statement-breakpoint
DROP TABLE "idempotency_keys" CASCADE;--> statement-breakpoint
CREATE UNIQUE INDEX "todos_user_idempotency_key_idx" ON "todos" USING btree ("user_id","idempotency_key") WHERE "todos"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "todos_user_deleted_idx" ON "todos" USING btree ("user_id","created_at") WHERE "todos"."deleted_at" is not null;
--> statement-breakpoint
DROP INDEX "todos_user_created_idx";--> statement-breakpoint
DROP INDEX "todos_user_completed_created_idx";--> statement-breakpoint
CREATE INDEX "todos_user_created_idx" ON "todos" USING btree ("user_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST) WHERE "todos"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "todos_user_completed_created_idx" ON "todos" USING btree ("user_id","is_completed","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST) WHERE "todos"."deleted_at" is null;
