// The data module of the keys of deleted todos: a live todo carries its Idempotency-Key on its own
// row (todos/store.ts); when it is deleted, its key moves here until it is 24 hours old, so a retry of
// the create that made it still cannot make it again. Every statement takes the caller's user id and
// is filtered by it, as the todo store's are.
import { and, eq, gte, inArray, isNotNull, lt, notInArray, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { WithSubquery } from "drizzle-orm/subquery";
import type { Budget } from "../db/budget";
import type { Db } from "../db/connect";
import { IDEMPOTENCY_KEY_HOURS, idempotencyKeys } from "../db/schema";
import { utcText } from "../db/utc";

/** What a create sent, reduced to what it means: the same title and description is the same request. */
export const requestHash = (title: string, description: string | null) =>
  new Bun.CryptoHasher("sha256").update(JSON.stringify([title, description])).digest("hex");

const userId = sql.placeholder("userId");
const key = sql.placeholder("key");
/** Keys made before this are expired: as if never used. */
export const expiredBefore = sql`now() - make_interval(hours => ${sql.raw(String(IDEMPOTENCY_KEY_HOURS))})`;
// Each delete removes at most this many of its user's expired keys: removal keeps pace with the
// deletes that make them, with no job to run and no unbounded delete on a request's path.
const EXPIRED_PER_DELETE = 100;

/** True unless the caller has a live key `key` kept from a deleted todo: a keyed create's condition. */
export function keyNotKept(db: Db): SQL {
  const kept = db
    .select({ key: idempotencyKeys.key })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), gte(idempotencyKeys.createdAt, expiredBefore)));
  return sql`not exists ${kept}`;
}

/** A CTE of deleted todos, each with its key, request hash and creation time. */
type Deleted = WithSubquery & Record<"id" | "idempotencyKey" | "requestHash" | "createdAt", AnyPgColumn>;

/**
 * The CTEs a delete runs after the CTE that removed the todo: keep its key while it is live, and remove
 * some of the user's expired ones (never the key being kept: one statement cannot both delete and
 * overwrite a row).
 */
export function keepKey(db: Db, deleted: Deleted) {
  const expiredKeys = db
    .select({ key: idempotencyKeys.key })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), lt(idempotencyKeys.createdAt, expiredBefore)))
    .limit(EXPIRED_PER_DELETE);
  const beingKept = db.select({ key: deleted.idempotencyKey }).from(deleted).where(isNotNull(deleted.idempotencyKey));
  const swept = db.$with("expired_keys").as(
    db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), inArray(idempotencyKeys.key, expiredKeys), notInArray(idempotencyKeys.key, beingKept)))
      .returning({ key: idempotencyKeys.key }),
  );
  const kept = db.$with("kept_key").as(
    db
      .insert(idempotencyKeys)
      .select(
        db
          .select({
            userId: sql`${userId}::uuid`.as("user_id"),
            key: sql`${deleted.idempotencyKey}`.as("key"),
            requestHash: sql`${deleted.requestHash}`.as("request_hash"),
            todoId: sql`${deleted.id}`.as("todo_id"),
            createdAt: sql`${deleted.createdAt}`.as("created_at"),
          })
          .from(deleted)
          .where(and(isNotNull(deleted.idempotencyKey), gte(deleted.createdAt, expiredBefore))),
      )
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: { requestHash: sql`excluded.request_hash`, todoId: sql`excluded.todo_id`, createdAt: sql`excluded.created_at` },
      })
      .returning({ key: idempotencyKeys.key }),
  );
  return { swept, kept };
}

/** A key as used: by which request, for which todo, when. */
export type KeyRecord = { request_hash: string; todo_id: string; created_at: string };

export function idempotencyStore(db: Db, budget: Budget) {
  const recall = db
    .select({
      request_hash: idempotencyKeys.requestHash,
      todo_id: idempotencyKeys.todoId,
      created_at: utcText(idempotencyKeys.createdAt, "created_at"),
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), gte(idempotencyKeys.createdAt, expiredBefore)))
    .prepare("recall_kept_idempotency_key");

  return {
    /** What the key was used for, if this user used it for a todo since deleted, and it is live. */
    async recall(userId: string, key: string): Promise<KeyRecord | undefined> {
      const [record] = await budget("recall_kept_idempotency_key", () => recall.execute({ userId, key }), { idempotent: true });
      return record;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof idempotencyStore>;
