CREATE TYPE "public"."todo_priority" AS ENUM('High', 'Medium', 'Low');--> statement-breakpoint
ALTER TABLE "todos" ADD COLUMN "priority" "todo_priority" DEFAULT 'Medium' NOT NULL;