CREATE TABLE "idempotency_keys" (
	"user_id" uuid NOT NULL,
	"key" varchar(255) NOT NULL,
	"request_hash" varchar(64) NOT NULL,
	"todo_id" uuid NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY("user_id","key")
);
--> statement-breakpoint
-- Moved by hand, before the columns go: each live key moves to its own row (a deleted todo's key too),
-- and the emptied rows that deleted todos left behind are deleted.
INSERT INTO "idempotency_keys" ("user_id", "key", "request_hash", "todo_id", "created_at")
SELECT "user_id", "idempotency_key", "request_hash", "id", "created_at" FROM "todos"
WHERE "idempotency_key" IS NOT NULL AND "request_hash" IS NOT NULL AND "created_at" >= now() - interval '24 hours';--> statement-breakpoint
DELETE FROM "todos" WHERE "deleted_at" IS NOT NULL;--> statement-breakpoint
DROP INDEX "todos_user_idempotency_key_idx";--> statement-breakpoint
DROP INDEX "todos_user_deleted_idx";--> statement-breakpoint
DROP INDEX "todos_user_created_idx";--> statement-breakpoint
DROP INDEX "todos_user_completed_created_idx";--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "idempotency_keys_user_created_idx" ON "idempotency_keys" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "todos_user_created_idx" ON "todos" USING btree ("user_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "todos_user_completed_created_idx" ON "todos" USING btree ("user_id","is_completed","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
ALTER TABLE "todos" DROP COLUMN "idempotency_key";--> statement-breakpoint
ALTER TABLE "todos" DROP COLUMN "request_hash";--> statement-breakpoint
ALTER TABLE "todos" DROP COLUMN "deleted_at";