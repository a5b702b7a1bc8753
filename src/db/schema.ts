import { sql } from "drizzle-orm";
import { boolean, index, integer, pgEnum, pgTable, primaryKey, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

/** Longest title and description, in characters: the API's limits are these columns' sizes. */
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 2000;

/** How long an Idempotency-Key is remembered (the IETF draft and Stripe: at least 24 hours). */
export const IDEMPOTENCY_KEY_HOURS = 24;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** The most keys one user holds: a new key past it pushes out the oldest (bounded storage per user). */
export const IDEMPOTENCY_KEYS_PER_USER = 1000;

export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** A todo's priority. Declared from the highest: Postgres orders an enum as declared, so High sorts first. */
export const PRIORITIES = ["High", "Medium", "Low"] as const;
export const DEFAULT_PRIORITY = "Medium";
export const priority = pgEnum("todo_priority", PRIORITIES);

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
    priority: priority("priority").notNull().default(DEFAULT_PRIORITY),
    // Millisecond precision: JSON clients hold instants as milliseconds, so what
    // the API returns is exactly the instant stored.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // now() is the transaction's start, so a new row's updated_at equals its created_at.
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // Counts changes: the ETag. Two changes can share a millisecond of updated_at, never a version.
    version: integer("version").notNull().default(1),
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
    // missing one does (a key on id alone would find the row and then filter it, which timing can tell apart).
    primaryKey({ name: "todos_pkey", columns: [table.userId, table.id] }),
  ],
);

/**
 * The Idempotency-Key of each keyed create, and what it made: a SHA-256 (hex) of the request and the
 * todo's id. It outlives the todo (a retry of a create whose todo was since deleted is answered as the
 * create was, not made again), for IDEMPOTENCY_KEY_HOURS, and a user keeps at most
 * IDEMPOTENCY_KEYS_PER_USER of them.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    key: varchar("key", { length: IDEMPOTENCY_KEY_MAX_LENGTH }).notNull(),
    requestHash: varchar("request_hash", { length: 64 }).notNull(),
    todoId: uuid("todo_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: "idempotency_keys_pkey", columns: [table.userId, table.key] }),
    // The user's newest keys first: those past the cap are found without reading the rest.
    index("idempotency_keys_user_created_idx").on(table.userId, table.createdAt.desc()),
  ],
);
