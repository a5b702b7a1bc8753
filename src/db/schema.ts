import { sql } from "drizzle-orm";
import { boolean, index, pgTable, primaryKey, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

/** Longest title and description, in characters: the API's limits are these columns' sizes. */
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 2000;

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const todos = pgTable(
  "todos",
  {
    id: uuid("id").notNull().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: varchar("title", { length: TITLE_MAX_LENGTH }).notNull(),
    description: varchar("description", { length: DESCRIPTION_MAX_LENGTH }),
    isCompleted: boolean("is_completed").notNull().default(false),
    // Millisecond precision: JSON clients hold instants as milliseconds, so what
    // the API returns is exactly the instant stored.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  // NULLS FIRST matches a plain `ORDER BY ... DESC`, so a page query walks an index from its
  // position and reads only the page's rows. The second index serves `completed=`: with the first
  // alone, a page of the few completed todos among many would read past every open one.
  (table) => [
    index("todos_user_created_idx").on(table.userId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index("todos_user_completed_created_idx").on(
      table.userId,
      table.isCompleted,
      table.createdAt.desc().nullsFirst(),
      table.id.desc().nullsFirst(),
    ),
    // Keyed by user and id together, and by nothing else: looking up another user's id costs what a
    // missing one does. A key on id alone was a hit filtered afterwards, which timing could tell apart.
    primaryKey({ name: "todos_pkey", columns: [table.userId, table.id] }),
  ],
);
