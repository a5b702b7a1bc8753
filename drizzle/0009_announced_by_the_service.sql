-- Changes are announced by the service after they commit (src/todos/announce.ts), not by a trigger: a
-- transaction that notifies holds one lock for the whole server through its commit, so with the trigger every
-- write waited for every other's commit (bench/README.md).
DROP TRIGGER IF EXISTS "announce_todo_change" ON "users";--> statement-breakpoint
DROP FUNCTION IF EXISTS "announce_todo_change"();
