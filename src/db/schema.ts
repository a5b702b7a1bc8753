import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, pgEnum, pgTable, primaryKey, timestamp, uuid, varchar } from "drizzle-orm/pg-core";

/** Longest title and description, in characters: the API's limits are these columns' sizes. */
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 2000;

/** How long an Idempotency-Key is remembered (the IETF draft and Stripe: at least 24 hours). */
export const IDEMPOTENCY_KEY_HOURS = 24;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
/** The most keys one user holds: a new key past it pushes out the oldest (bounded storage per user). */
export const IDEMPOTENCY_KEYS_PER_USER = 1000;

/**
 * One row per user, written by each of the user's changes in the statement that makes it: so one user's
 * changes are serial (each holds the row's lock until it commits), numbered in the order they commit.
 */
export const users = pgTable("users", {
  id: uuid("id").primaryKey(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  // The user's last change's position in their change feed: each change takes the next one.
  changePosition: bigint("change_position", { mode: "number" }).notNull().default(0),
  // Kept by every create and delete: the limit is checked on this row, not by counting todos.
  todoCount: integer("todo_count").notNull().default(0),
  // The user's tombstones: past TOMBSTONES_PER_USER a delete forgets the oldest.
  tombstoneCount: integer("tombstone_count").notNull().default(0),
  // Deletes at or before this position have been forgotten: a feed from an earlier position is refused.
  forgottenThrough: bigint("forgotten_through", { mode: "number" }).notNull().default(0),
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
    // The user's change position at the todo's last change: where the change feed lists it.
    changePosition: bigint("change_position", { mode: "number" }).notNull(),
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
    // The change feed reads a user's todos from a position on.
    index("todos_user_change_idx").on(table.userId, table.changePosition, table.id),
    // The list's other orders, each seeking from its position: recently changed, by title, by priority.
    index("todos_user_updated_idx").on(table.userId, table.updatedAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
    index("todos_user_title_idx").on(table.userId, sql`lower(${table.title})`, table.id),
    index("todos_user_priority_idx").on(table.userId, table.priority, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst()),
  ],
);

/**
 * A deleted todo, remembered for the change feed: until SYNC_RETENTION has passed, and at most
 * TOMBSTONES_PER_USER per user (the oldest forgotten first, raising users.forgotten_through).
 */
export const todoTombstones = pgTable(
  "todo_tombstones",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    todoId: uuid("todo_id").notNull(),
    changePosition: bigint("change_position", { mode: "number" }).notNull(),
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: "todo_tombstones_pkey", columns: [table.userId, table.changePosition, table.todoId] }),
    // Forgetting by age reads the oldest first, whoever they belong to.
    index("todo_tombstones_deleted_idx").on(table.deletedAt),
  ],
);
export const TOMBSTONES_PER_USER = 10_000;

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
