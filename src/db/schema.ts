import { sql } from "drizzle-orm";
import { boolean, index, integer, pgTable, primaryKey, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";

/** Longest title and description, in characters: the API's limits are these columns' sizes. */
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 2000;

/** How long an Idempotency-Key is remembered (the IETF draft and Stripe: at least 24 hours). */
export const IDEMPOTENCY_KEY_HOURS = 24;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

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
    // now() is the transaction's start, so a new row's updated_at equals its created_at.
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // Counts changes: the ETag. Two changes can share a millisecond of updated_at, never a version.
    version: integer("version").notNull().default(1),
    // The Idempotency-Key of the create that made this todo, if it had one, and a SHA-256 (hex) of that
    // create's request: the key is claimed by inserting the todo, so a key never exists without its todo.
    // On the todo's own row, not a row of its own: a keyed create writes one row, not two (bench/README.md).
    idempotencyKey: varchar("idempotency_key", { length: IDEMPOTENCY_KEY_MAX_LENGTH }),
    requestHash: varchar("request_hash", { length: 64 }),
    // Set when a todo whose key is live is deleted: the row stays, emptied, until the key expires, so the
    // key still stands in the unique index below and a retry of its create replays instead of making it
    // again. Every statement but the key's own lookups reads only rows where this is null.
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }),
  },
  // NULLS FIRST matches a plain `ORDER BY ... DESC`, so a page query walks an index from its
  // position and reads only the page's rows. The second index serves `completed=`: with the first
  // alone, a page of the few completed todos among many would read past every open one. Both hold
  // todos only, not deleted rows: a page, and the count against the limit, never read past those.
  (table) => [
    index("todos_user_created_idx")
      .on(table.userId, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst())
      .where(sql`${table.deletedAt} is null`),
    index("todos_user_completed_created_idx")
      .on(table.userId, table.isCompleted, table.createdAt.desc().nullsFirst(), table.id.desc().nullsFirst())
      .where(sql`${table.deletedAt} is null`),
    // Keyed by user and id together, and by nothing else: looking up another user's id costs what a
    // missing one does. A key on id alone was a hit filtered afterwards, which timing could tell apart.
    primaryKey({ name: "todos_pkey", columns: [table.userId, table.id] }),
    // One todo per key and user; todos made without a key are not in it at all.
    uniqueIndex("todos_user_idempotency_key_idx").on(table.userId, table.idempotencyKey).where(sql`${table.idempotencyKey} is not null`),
    // A delete removes its user's deleted rows whose keys have expired, found here without reading the rest.
    index("todos_user_deleted_idx").on(table.userId, table.createdAt).where(sql`${table.deletedAt} is not null`),
  ],
);
