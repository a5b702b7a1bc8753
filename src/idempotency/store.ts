// The data module of Idempotency-Key records: every statement takes the caller's user id and is
// filtered by it, as the todo store's are. The key is claimed inside the statement that creates
// the todo (todos/store.ts composes claimKey into it), so a key can never exist without its todo.
import { and, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Budget } from "../db/budget";
import type { Db } from "../db/connect";
import { IDEMPOTENCY_KEY_HOURS, idempotencyKeys } from "../db/schema";
import { utcText } from "../db/utc";

/** What a create sent, reduced to what it means: the same title and description is the same request. */
export const requestHash = (title: string, description: string | null) =>
  new Bun.CryptoHasher("sha256").update(JSON.stringify([title, description])).digest("hex");

const userId = sql.placeholder("userId");
const key = sql.placeholder("key");
const expiredBefore = sql`now() - make_interval(hours => ${sql.raw(String(IDEMPOTENCY_KEY_HOURS))})`;
// Each keyed create removes at most this many of its user's expired keys: removal keeps pace with
// creation, with no job to run and no unbounded delete on a request's path.
const EXPIRED_PER_CREATE = 100;

/**
 * The CTEs a keyed create runs first: remove some of the user's expired keys, then claim the key when
 * `allowed` holds. The claim returns the new todo's id when the key was free or expired (an expired
 * key is overwritten, as if absent), and nothing when a live key holds it: then no todo is made.
 * A concurrent claim of the same key waits for the first statement to commit, then finds it taken.
 */
export function claimKey(db: Db, allowed: SQL) {
  const expiredKeys = db
    .select({ key: idempotencyKeys.key })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), lt(idempotencyKeys.createdAt, expiredBefore)))
    .limit(EXPIRED_PER_CREATE);
  const expired = db.$with("expired_keys").as(
    db
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), sql`${idempotencyKeys.key} in ${expiredKeys}`, sql`${idempotencyKeys.key} <> ${key}`))
      .returning({ key: idempotencyKeys.key }),
  );
  const claim = db.$with("claim").as(
    db
      .insert(idempotencyKeys)
      .select(
        db
          .select({
            userId: sql`${userId}::uuid`.as("user_id"),
            key: sql`${key}`.as("key"),
            requestHash: sql`${sql.placeholder("requestHash")}`.as("request_hash"),
            todoId: sql`gen_random_uuid()`.as("todo_id"),
            createdAt: sql`now()`.as("created_at"),
          })
          .from(sql`(values (1)) as one_row(x)`)
          .where(allowed),
      )
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: { requestHash: sql`excluded.request_hash`, todoId: sql`excluded.todo_id`, createdAt: sql`excluded.created_at` },
        setWhere: lt(idempotencyKeys.createdAt, expiredBefore),
      })
      .returning({ todoId: idempotencyKeys.todoId }),
  );
  return { expired, claim };
}

export type KeyRecord = { request_hash: string; todo_id: string; created_at: string };

export function idempotencyStore(db: Db, budget: Budget) {
  // No expiry test: a key found here was live when the create's claim met it a moment ago.
  const recall = db
    .select({
      request_hash: idempotencyKeys.requestHash,
      todo_id: idempotencyKeys.todoId,
      created_at: utcText(idempotencyKeys.createdAt, "created_at"),
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
    .prepare("recall_idempotency_key");

  return {
    /** What the key was used for, if this user has used it. */
    async recall(userId: string, key: string): Promise<KeyRecord | undefined> {
      const [record] = await budget("recall_idempotency_key", () => recall.execute({ userId, key }), { idempotent: true });
      return record;
    },
  };
}

export type IdempotencyStore = ReturnType<typeof idempotencyStore>;
