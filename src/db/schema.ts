import { sql } from "drizzle-orm";
import { boolean, index, pgTable, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const todos = pgTable(
  "todos",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: varchar("title", { length: 255 }).notNull(),
    description: varchar("description", { length: 2000 }),
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
  ],
);
