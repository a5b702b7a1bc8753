-- One todo is looked up by user and id together, through this key alone (see src/db/schema.ts).
ALTER TABLE "todos" DROP CONSTRAINT "todos_pkey";--> statement-breakpoint
ALTER TABLE "todos" ADD CONSTRAINT "todos_pkey" PRIMARY KEY("user_id","id");
