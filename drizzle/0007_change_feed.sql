-- The change feed: each user's changes numbered on their users row, each todo at the position of its last
-- change, deleted todos remembered as tombstones; the users row also counts the user's todos.
CREATE TABLE "todo_tombstones" (
	"user_id" uuid NOT NULL,
	"todo_id" uuid NOT NULL,
	"change_position" bigint NOT NULL,
	"deleted_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "todo_tombstones_pkey" PRIMARY KEY("user_id","change_position","todo_id")
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "change_position" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "todo_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "tombstone_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "forgotten_through" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "todos" ADD COLUMN "change_position" bigint;--> statement-breakpoint
-- Todos already there take positions 1, 2, ... per user, in the order they last changed.
UPDATE "todos" SET "change_position" = "numbered"."position"
FROM (SELECT "user_id", "id", row_number() OVER (PARTITION BY "user_id" ORDER BY "updated_at", "id") AS "position" FROM "todos") AS "numbered"
WHERE "todos"."user_id" = "numbered"."user_id" AND "todos"."id" = "numbered"."id";--> statement-breakpoint
UPDATE "users" SET "todo_count" = "counted"."todos", "change_position" = "counted"."todos"
FROM (SELECT "user_id", count(*) AS "todos" FROM "todos" GROUP BY "user_id") AS "counted"
WHERE "users"."id" = "counted"."user_id";--> statement-breakpoint
ALTER TABLE "todos" ALTER COLUMN "change_position" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "todo_tombstones" ADD CONSTRAINT "todo_tombstones_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "todo_tombstones_deleted_idx" ON "todo_tombstones" USING btree ("deleted_at");--> statement-breakpoint
CREATE INDEX "todos_user_change_idx" ON "todos" USING btree ("user_id","change_position","id");--> statement-breakpoint
-- Each change moves its user's position: announced to listeners when the change commits, with ids and
-- the position only (never a todo's text).
CREATE FUNCTION "announce_todo_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.change_position > coalesce(OLD.change_position, 0) THEN
    PERFORM pg_notify('todo_changes', NEW.id::text || ' ' || NEW.change_position::text);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "announce_todo_change" AFTER INSERT OR UPDATE OF "change_position" ON "users"
FOR EACH ROW EXECUTE FUNCTION "announce_todo_change"();
--> statement-breakpoint
-- One user's rows are a small part of each table (at most MAX_TODOS_PER_USER todos, 1,000 keys, 10,000
-- tombstones), whatever the statistics of a table with a few heavy users say. A plan kept for every user (a
-- prepared statement's generic plan) is made without knowing which user: Postgres then takes one user's rows to
-- be rows / n_distinct. Declaring as many users as a tenth of the rows (n_distinct -0.1, kept by every ANALYZE)
-- makes that estimate small, so the plan seeks by user and never scans the table;
-- test/db/generic-plans.test.ts checks every statement's generic plan.
ALTER TABLE "todos" ALTER COLUMN "user_id" SET (n_distinct = -0.1);--> statement-breakpoint
ALTER TABLE "todo_tombstones" ALTER COLUMN "user_id" SET (n_distinct = -0.1);--> statement-breakpoint
ALTER TABLE "idempotency_keys" ALTER COLUMN "user_id" SET (n_distinct = -0.1);--> statement-breakpoint
ANALYZE "todos", "todo_tombstones", "idempotency_keys";
