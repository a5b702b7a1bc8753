ALTER TABLE "todos" ADD COLUMN "idempotency_key" varchar(255);--> statement-breakpoint
ALTER TABLE "todos" ADD COLUMN "request_hash" varchar(64);--> statement-breakpoint
CREATE UNIQUE INDEX "todos_user_idempotency_key_idx" ON "todos" USING btree ("user_id","idempotency_key") WHERE "todos"."idempotency_key" is not null;--> statement-breakpoint
-- Added by hand: a key whose todo still exists moves onto the todo; the rest are deleted todos' keys and stay.
UPDATE "todos" SET "idempotency_key" = k."key", "request_hash" = k."request_hash"
FROM "idempotency_keys" AS k WHERE k."user_id" = "todos"."user_id" AND k."todo_id" = "todos"."id";--> statement-breakpoint
DELETE FROM "idempotency_keys" AS k USING "todos" AS t WHERE t."user_id" = k."user_id" AND t."id" = k."todo_id";
