// The data module: the only place that knows SQL of todos. Every function takes the caller's
// userId and every statement on `todos` is filtered by it, so no function can reach
// another user's rows.
//
// Statements are built and prepared once per database, with placeholders: building the SQL is
// most of the JavaScript a simple call would otherwise spend.
import { and, eq, gte, is, lt, SQL, sql } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import type { Db } from "../db/connect";
import { rowsOf } from "../db/rows";
import type { RunQuery } from "../db/run-query";
import {
  DEFAULT_PRIORITY,
  IDEMPOTENCY_KEY_HOURS,
  IDEMPOTENCY_KEYS_PER_USER,
  idempotencyKeys,
  TOMBSTONES_PER_USER,
  todos,
  todoTombstones,
  users,
} from "../db/schema";
import { utcText } from "../db/utc";
import { CHANGES_CHANNEL } from "./announce";
import type { NewTodo, Todo, TodoChange, TodoChanges } from "./model";
import {
  type Direction,
  filtered,
  filteringOf,
  filterValues,
  type ListFilters,
  type ListPosition,
  NATURAL,
  nameOf,
  prepareCount,
  preparePage,
  type Sort,
  statementName,
} from "./store-pages";
import type { SyncPosition } from "./sync-token";

// Column names are the API's names, so the driver's rows are already the JSON we answer with.
const todoColumns = {
  id: todos.id,
  title: todos.title,
  description: todos.description,
  is_completed: todos.isCompleted,
  priority: todos.priority,
  created_at: utcText(todos.createdAt, "created_at"),
  updated_at: utcText(todos.updatedAt, "updated_at"),
  user_id: todos.userId,
};
// An answer with one todo also carries its version, which the ETag is made of.
const versionedColumns = { ...todoColumns, version: todos.version };

// The compiler holds the selection to the API's shape: renaming, adding or dropping a column above
// (or a field of Todo) fails here, not in a client.
type TodoRow = SelectResultFields<typeof todoColumns>;
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const rowIsTodo: Same<TodoRow, Todo> = true;
void rowIsTodo;

/** One todo and its version: the version changes with every change to the todo, and only then. */
export type VersionedTodo = { todo: Todo; version: number };
type VersionedRow = TodoRow & { version: number };
type KeyRecord = { request_hash: string; todo_id: string; created_at: string };
const versioned = ({ version, ...todo }: VersionedRow): VersionedTodo => ({ todo, version });

// Drizzle's prepared queries also have all(): the driver's own row objects, without Drizzle's
// per-column mapping, a large share of a list's CPU (`bun run bench`). It is not in Drizzle's
// shared prepared-query type, but every driver here has it, and every driver runs the test suite.
// Skipping the mapping is right only for columns whose driver value already is the JSON value:
// uuid, varchar, text, boolean and integer (as here). Not for timestamp, numeric, bigint or json:
// format those in SQL, as created_at is.
type Statement = { execute(values: Record<string, unknown>): Promise<unknown> };
const driverRows = <Row>(statement: Statement, values: Record<string, unknown>) =>
  (statement as unknown as { all(values: Record<string, unknown>): Promise<Row[]> }).all(values);
const versionedRows = (statement: Statement, values: Record<string, unknown>) => driverRows<VersionedRow>(statement, values);

const userId = sql.placeholder("userId");
const key = sql.placeholder("key");
const ownTodo = and(eq(todos.userId, userId), eq(todos.id, sql.placeholder("id")));
// If-Match: the versions it names are checked in the statement that changes the row, so nothing can
// come between. Sent as an array literal ("{3,4}"), which every driver passes as plain text.
const ownTodoAtVersion = and(ownTodo, sql`${todos.version} = any(${sql.placeholder("ifVersions")}::int[])`);
const maxTodos = sql.placeholder("maxTodos");
/** Versions as a Postgres array literal: "{3,4}". */
/** What a bulk change answers: how many todos it changed. */
const howMany = { count: sql<number>`count(*)::int`.as("count") };

const versionList = (versions: number[] | undefined) => versions && `{${versions.join(",")}}`;
/** User ids as a Postgres array literal ("{a,b}"), which every driver passes as plain text. */
const userArray = (userIds: string[]) => `{${userIds.join(",")}}`;

/**
 * What a create sent, reduced to what it means: the same title, description and priority is the same
 * request. The default priority is left out, so a key recorded before priorities existed still matches.
 */
const requestHash = ({ title, description, priority }: Required<NewTodo>) =>
  new Bun.CryptoHasher("sha256")
    .update(JSON.stringify(priority === DEFAULT_PRIORITY ? [title, description] : [title, description, priority]))
    .digest("hex");

/** A create's input with its defaults filled in. */
const withDefaults = (input: NewTodo): Required<NewTodo> => ({
  title: input.title,
  description: input.description ?? null,
  priority: input.priority ?? DEFAULT_PRIORITY,
});
// A key made before this is expired: as if never used.
const expiredBefore = sql`now() - make_interval(hours => ${sql.raw(String(IDEMPOTENCY_KEY_HOURS))})`;
// Each keyed create pushes out at most this many of its user's oldest keys past the cap: more than the
// one it adds, so the cap holds with no job to run and no unbounded delete.
const EVICTED_PER_CREATE = 10;

/** Each field a PATCH may change, and its column: a field of TodoChanges missing here does not compile. */
const changeableColumns = {
  title: "title",
  description: "description",
  is_completed: "isCompleted",
  priority: "priority",
} as const satisfies Record<keyof TodoChanges, keyof typeof todos.$inferInsert>;
const changeableFields = Object.keys(changeableColumns) as (keyof TodoChanges)[];

function prepareStatements(db: Db) {
  // Every change starts by locking its user's row: one user's changes then run one at a time, each taking
  // the next change position and seeing the todo count the previous one left. A user without a row
  // (who never wrote) has no position: the change makes nothing, and the store adds the row and retries.
  const position = db.$with("position").as(
    db
      .select({
        next: sql<number>`${users.changePosition} + 1`.as("next"),
        todoCount: users.todoCount,
        tombstoneCount: users.tombstoneCount,
      })
      .from(users)
      .where(eq(users.id, userId))
      .for("update"),
  );
  const nextPosition = sql`(select ${position.next} from ${position})`;
  // The user's row after a change that touched a todo (`changed` returned rows): its position taken, and
  // what else the change sets (the count of todos, how far deletes are forgotten).
  const advanced = (
    changed: { _: { alias: string } },
    set: Partial<Record<"todoCount" | "tombstoneCount" | "forgottenThrough", SQL>> = {},
  ) =>
    db.$with("advanced").as(
      db
        .update(users)
        .set({ changePosition: sql`${users.changePosition} + 1`, ...set })
        .where(and(eq(users.id, userId), sql`exists (select from ${sql.identifier(changed._.alias)})`))
        .returning({ id: users.id }),
    );
  // Every column in the table's order: Drizzle's insert-select takes them all, hence the defaults spelt out.
  const newTodo = (id: SQL) => ({
    id: id.as("id"),
    userId: sql`${userId}::uuid`.as("user_id"),
    title: sql`${sql.placeholder("title")}`.as("title"),
    description: sql`${sql.placeholder("description")}`.as("description"),
    isCompleted: sql`false`.as("is_completed"),
    // Cast: a parameter selected into a column takes no type from it.
    priority: sql`${sql.placeholder("priority")}::todo_priority`.as("priority"),
    createdAt: sql`now()`.as("created_at"),
    updatedAt: sql`now()`.as("updated_at"),
    version: sql`1`.as("version"),
    changePosition: sql`next`.as("change_position"),
  });
  const underLimit = sql`${position.todoCount} < ${maxTodos}`;
  const oneMore = { todoCount: sql`${users.todoCount} + 1` };
  // With an Idempotency-Key, the key is claimed first and the todo made with the id the claim drew, in
  // one statement: a key never exists without its create, nor a keyed todo without its key. A
  // create with a key already taken finds it (the user's lock makes the two one after the other). An
  // expired key is taken over as if it were new.
  const claimed = db.$with("claimed").as(
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
          .from(position)
          .where(underLimit),
      )
      .onConflictDoUpdate({
        target: [idempotencyKeys.userId, idempotencyKeys.key],
        set: { requestHash: sql`excluded.request_hash`, todoId: sql`excluded.todo_id`, createdAt: sql`excluded.created_at` },
        setWhere: lt(idempotencyKeys.createdAt, expiredBefore),
      })
      .returning({ todoId: idempotencyKeys.todoId }),
  );
  // The user's keys past the cap (the newest IDEMPOTENCY_KEYS_PER_USER - 1 stay, with the one claimed).
  // Limits written into the SQL, not sent as parameters, so that the plan Postgres keeps for the statement
  // walks the (user_id, created_at desc nulls last) index in order whatever it is asked: both orders are the
  // index's, forwards and backwards (created_at is never null; the index's order must be named all the same).
  const capEdge = sql`(select ${idempotencyKeys.createdAt} from ${idempotencyKeys} where ${idempotencyKeys.userId} = ${userId}
    order by ${idempotencyKeys.createdAt} desc nulls last offset ${sql.raw(String(IDEMPOTENCY_KEYS_PER_USER - 1))} limit 1)`;
  const pastTheCap = sql`select ${idempotencyKeys.key} from ${idempotencyKeys}
    where ${idempotencyKeys.userId} = ${userId} and ${idempotencyKeys.createdAt} <= ${capEdge} and ${idempotencyKeys.key} <> ${key}
    order by ${idempotencyKeys.createdAt} asc nulls first limit ${sql.raw(String(EVICTED_PER_CREATE))}`;
  const evicted = db.$with("evicted").as(
    db
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.userId, userId),
          sql`exists (select from ${position})`,
          sql`${idempotencyKeys.key} = any(array(${pastTheCap}))`,
        ),
      )
      .returning({ key: idempotencyKeys.key }),
  );
  // A create without a key locks, counts and positions in one upsert, which also makes a new user's row:
  // the limit is checked on the locked row, so concurrent creates cannot pass it.
  const counted = db.$with("counted").as(
    db
      .insert(users)
      .values({ id: userId, changePosition: 1, todoCount: 1 })
      .onConflictDoUpdate({
        target: users.id,
        set: { changePosition: sql`${users.changePosition} + 1`, todoCount: sql`${users.todoCount} + 1` },
        setWhere: sql`${users.todoCount} < ${maxTodos}`,
      })
      .returning({ next: sql<number>`${users.changePosition}`.as("next") }),
  );
  const made = db.$with("made").as(
    db
      .insert(todos)
      .select(db.select(newTodo(sql`gen_random_uuid()`)).from(counted))
      .returning(versionedColumns),
  );
  const madeWithKey = db.$with("made").as(
    db
      .insert(todos)
      .select(db.select(newTodo(sql`${claimed.todoId}`)).from(sql`${position}, ${claimed}`))
      .returning(versionedColumns),
  );
  // A delete leaves a tombstone at its position, for the change feed. A user with TOMBSTONES_PER_USER already
  // has the oldest past the newest TOMBSTONES_PER_USER - 1 forgotten, and forgotten_through says up to where.
  // The count on the users row spares every other delete the walk to that edge.
  const forgetEdge = sql`(select ${todoTombstones.changePosition} from ${todoTombstones} where ${todoTombstones.userId} = ${userId}
    order by ${todoTombstones.changePosition} desc offset ${sql.raw(String(TOMBSTONES_PER_USER - 1))} limit 1)`;
  const removed = (where: SQL | undefined) => {
    const gone = db.$with("removed").as(
      db
        .delete(todos)
        // Naming the position here takes the user's lock before the todo's, as every change does.
        .where(and(where, sql`exists (select from ${position})`))
        .returning({ id: todos.id }),
    );
    const buried = db.$with("buried").as(
      db
        .insert(todoTombstones)
        .select(
          db
            .select({
              userId: sql`${userId}::uuid`.as("user_id"),
              todoId: sql`${gone.id}`.as("todo_id"),
              changePosition: sql`${position.next}`.as("change_position"),
              deletedAt: sql`now()`.as("deleted_at"),
            })
            .from(sql`${gone}, ${position}`),
        )
        .returning({ todoId: todoTombstones.todoId }),
    );
    const forgotten = db.$with("forgotten").as(
      db
        .delete(todoTombstones)
        .where(
          and(
            eq(todoTombstones.userId, userId),
            sql`exists (select from ${gone})`,
            sql`(select ${position.tombstoneCount} from ${position}) >= ${sql.raw(String(TOMBSTONES_PER_USER))}`,
            sql`${todoTombstones.changePosition} <= ${forgetEdge}`,
          ),
        )
        .returning({ position: todoTombstones.changePosition }),
    );
    const after = advanced(gone, {
      todoCount: sql`${users.todoCount} - (select count(*) from ${gone})::int`,
      tombstoneCount: sql`${users.tombstoneCount} + (select count(*) from ${gone})::int - (select count(*) from ${forgotten})::int`,
      forgottenThrough: sql`greatest(${users.forgottenThrough}, coalesce((select max(${forgotten.position}) from ${forgotten}), 0))`,
    });
    return { removed: gone, all: [position, gone, buried, forgotten, after] };
  };
  const removal = (where: SQL | undefined, name: string) => {
    const { removed: gone, all } = removed(where);
    return db
      .with(...all)
      .select({ id: gone.id })
      .from(gone)
      .prepare(name);
  };
  const removalOfAll = (where: SQL, name: string) => {
    const { removed: gone, all } = removed(where);
    return db
      .with(...all)
      .select(howMany)
      .from(gone)
      .prepare(name);
  };
  const changing = (set: Record<string, SQL>, where: SQL | undefined, name: string) => {
    const changed = changedTodos(set, where);
    return db.with(position, changed, advanced(changed)).select().from(changed).prepare(name);
  };
  const changedTodos = (set: Record<string, SQL>, where: SQL | undefined) =>
    db.$with("changed").as(
      db
        .update(todos)
        .set({ ...set, version: sql`${todos.version} + 1`, updatedAt: sql`now()`, changePosition: nextPosition })
        .where(where)
        .returning(versionedColumns),
    );
  const changingAll = (set: Record<string, SQL>, where: SQL, name: string) => {
    const changed = changedTodos(set, where);
    return db.with(position, changed, advanced(changed)).select(howMany).from(changed).prepare(name);
  };
  const toggled = (where: SQL | undefined, name: string) => changing({ isCompleted: sql`not ${todos.isCompleted}` }, where, name);
  return {
    // INSERT ... SELECT, so that the limit is checked in the statement that inserts.
    create: db.with(counted, made).select().from(made).prepare("create_todo"),
    createWithKey: db
      .with(position, claimed, evicted, madeWithKey, advanced(madeWithKey, oneMore))
      .select()
      .from(madeWithKey)
      .prepare("create_todo_with_key"),
    newUser: db.insert(users).values({ id: userId }).onConflictDoNothing().prepare("new_user"),
    recallKey: db
      .select({
        request_hash: idempotencyKeys.requestHash,
        todo_id: idempotencyKeys.todoId,
        created_at: utcText(idempotencyKeys.createdAt, "created_at"),
      })
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), gte(idempotencyKeys.createdAt, expiredBefore)))
      .prepare("recall_idempotency_key"),
    get: db.select(versionedColumns).from(todos).where(ownTodo).prepare("get_todo"),
    version: db.select({ version: todos.version }).from(todos).where(ownTodo).prepare("todo_version"),
    remove: removal(ownTodo, "delete_todo"),
    removeAtVersion: removal(ownTodoAtVersion, "delete_todo_if_version"),
    // The flip is computed in the statement, so two toggles at once make two flips, never one lost.
    change: changing,
    changeAll: changingAll,
    removeAll: removalOfAll,
    toggle: toggled(ownTodo, "toggle_todo"),
    toggleAtVersion: toggled(ownTodoAtVersion, "toggle_todo_if_version"),
    summary: db
      .select({
        // Named: the driver's rows are read as they come (driverRows), by these names.
        total: sql<number>`count(*)::int`.as("total"),
        completed: sql<number>`(count(*) filter (where ${todos.isCompleted}))::int`.as("completed"),
        high: sql<number>`(count(*) filter (where ${todos.priority} = 'High'))::int`.as("high"),
        medium: sql<number>`(count(*) filter (where ${todos.priority} = 'Medium'))::int`.as("medium"),
        low: sql<number>`(count(*) filter (where ${todos.priority} = 'Low'))::int`.as("low"),
      })
      .from(todos)
      .where(eq(todos.userId, userId))
      .prepare("todo_summary"),
    // One notification per user, "<user id> <position>", in one statement (announce.ts).
    announce: db
      .select({ sent: sql`pg_notify(${CHANGES_CHANNEL}, ${users.id}::text || ' ' || ${users.changePosition}::text)`.as("sent") })
      .from(users)
      .where(sql`${users.id} = any(${sql.placeholder("userIds")}::uuid[])`)
      .prepare("announce_changes"),
    lastPositions: db
      .select({ id: users.id, position: sql<number>`${users.changePosition}`.as("position") })
      .from(users)
      .where(sql`${users.id} = any(${sql.placeholder("userIds")}::uuid[])`)
      .prepare("last_change_positions"),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The user's changes after `since`, oldest first, at most `limit`: each todo changed since then once,
 * as it is now, or as deleted. One statement, so one snapshot: a change committed meanwhile is either
 * wholly in the page or after it. Also how far deletes have been forgotten, and the user's last position.
 */
function feedQuery(userId: string, since: SyncPosition, limit: number) {
  const after = sql`(${since.position}::bigint, ${since.id}::uuid)`;
  return sql`
    with changed as (
      (select ${todos.changePosition} as position, ${todos.id} as id, false as deleted from ${todos}
        where ${todos.userId} = ${userId} and (${todos.changePosition}, ${todos.id}) > ${after}
        order by ${todos.changePosition}, ${todos.id} limit ${limit})
      union all
      (select ${todoTombstones.changePosition}, ${todoTombstones.todoId}, true from ${todoTombstones}
        where ${todoTombstones.userId} = ${userId} and (${todoTombstones.changePosition}, ${todoTombstones.todoId}) > ${after}
        order by ${todoTombstones.changePosition}, ${todoTombstones.todoId} limit ${limit})
      order by position, id limit ${limit})
    select horizon.forgotten_through::text as forgotten_through, horizon.last_position::text as last_position,
      changed.position::text as position, changed.id as changed_id,
      changed.deleted, ${sql.join(
        Object.entries(todoColumns).map(
          ([name, column]) => sql`${is(column, SQL.Aliased) ? column.sql : column} as ${sql.identifier(name)}`,
        ),
        sql`, `,
      )}
    from (select coalesce(max(${users.forgottenThrough}), 0) as forgotten_through, coalesce(max(${users.changePosition}), 0) as last_position
      from ${users} where ${users.id} = ${userId}) as horizon
      left join changed on true
      left join ${todos} on ${todos.userId} = ${userId} and ${todos.id} = changed.id
    order by changed.position, changed.id`;
}
type FeedRow = TodoRow & {
  forgotten_through: string;
  last_position: string;
  position: string | null;
  changed_id: string | null;
  deleted: boolean | null;
};

export type FeedRequest = { since: SyncPosition; limit: number };
/** A change, and its place in the feed: a feed from there goes on after it. */
export type PlacedChange = { change: TodoChange; at: SyncPosition };
/**
 * A page of changes, and where the next starts; "resync": the feed cannot go on from `since` (deletes after it
 * were forgotten, or it is past the user's last change: a token from elsewhere), and the client starts again.
 */
export type FeedPage = { changes: PlacedChange[]; next: SyncPosition; hasMore: boolean } | "resync";

export type PageRequest = { limit: number; sort?: Sort; order?: Direction; filters?: ListFilters; after?: ListPosition };
/** A page, whether another follows, how many todos the filters match in all, and the last todo's position. */
export type Page = { items: Todo[]; hasMore: boolean; total: number; last?: ListPosition };
type PageRow = TodoRow & { total: number; title_key?: string };

// An update sets only the fields sent: one prepared statement per combination (and per whether it
// is conditional), made on first use. Every update counts a new version and stamps updated_at.
function prepareUpdate(statements: Statements, fields: (keyof TodoChanges)[], conditional: boolean) {
  // Drizzle's types take no bare placeholder in set(); wrapped in sql`` it is the same parameter.
  const set = Object.fromEntries(fields.map((field) => [changeableColumns[field], sql`${sql.placeholder(field)}`]));
  const name = statementName(`update_todo_${fields.join("_")}${conditional ? "_if_version" : ""}`);
  return { name, statement: statements.change(set, conditional ? ownTodoAtVersion : ownTodo, name) };
}

/** What a create did: made the todo, found it made earlier under the same key, or neither, and why. */
export type CreateOutcome =
  | ({ outcome: "created" | "replayed" } & VersionedTodo)
  | { outcome: "limit-reached" }
  | { outcome: "key-reused" };

/**
 * What a change guarded by a version did. "version-differs": the user's todo exists, at another
 * version. "missing": the user has no such todo (another user's todo is missing too).
 */
export type GuardedOutcome<T> = T | "missing" | "version-differs";

export type StoreOptions = {
  maxTodosPerUser: number;
  /** Called with the user's id once a change to their todos has committed (live.ts announces it). */
  onChange?: (userId: string) => void;
};

/**
 * The data module for one database; each call runs within the runQuery (circuit, deadline, safe retries).
 * `ifVersions`: apply the change only if the todo is at one of these versions (undefined: whatever its version).
 */
export function todoStore(db: Db, runQuery: RunQuery, { maxTodosPerUser, onChange = () => {} }: StoreOptions) {
  const statements = prepareStatements(db);
  const updates = new Map<string, ReturnType<typeof prepareUpdate>>();
  const pages = new Map<string, ReturnType<typeof preparePage>>();
  const bulkUpdates = new Map<string, ReturnType<Statements["changeAll"]>>();
  const bulkRemovals = new Map<string, ReturnType<Statements["removeAll"]>>();
  const counts = new Map<string, ReturnType<typeof prepareCount>>();

  /** How many todos the filters match, for a page that has no row to say it. */
  async function count(filtering: Parameters<typeof prepareCount>[1], values: Record<string, unknown>): Promise<number> {
    const key = JSON.stringify(filtering);
    const statement = counts.get(key) ?? prepareCount(db, filtering);
    counts.set(key, statement);
    const [row] = await runQuery("count_todos", () => driverRows<{ total: number | null }>(statement.statement, values), {
      idempotent: true,
    });
    return row?.total ?? 0;
  }

  function changedCount(userId: string, count: number): number {
    if (count > 0) onChange(userId);
    return count;
  }

  function changedTodo(userId: string, row: Parameters<typeof versioned>[0]): VersionedTodo {
    onChange(userId);
    return versioned(row);
  }

  async function versionOf(userId: string, id: string): Promise<number | undefined> {
    const [row] = await runQuery("todo_version", () => driverRows<{ version: number }>(statements.version, { userId, id }), {
      idempotent: true,
    });
    return row?.version;
  }

  /** Why a guarded change touched no row: one lookup scoped like the change itself. */
  async function whyUnchanged(userId: string, id: string): Promise<"missing" | "version-differs"> {
    return (await versionOf(userId, id)) === undefined ? "missing" : "version-differs";
  }

  async function createWithKey(userId: string, input: NewTodo, key: string): Promise<CreateOutcome> {
    const request = withDefaults(input);
    const hash = requestHash(request);
    const values = { userId, key, requestHash: hash, ...request, maxTodos: maxTodosPerUser };
    // Repeating this statement cannot apply it twice: the key admits one todo. So a dropped
    // connection is retried here like a read, and the retry finds the todo if the first attempt made it.
    const create = async (): Promise<CreateOutcome | undefined> => {
      const [row] = await runQuery("create_todo_with_key", () => versionedRows(statements.createWithKey, values), { idempotent: true });
      return row && { outcome: "created", ...versioned(row) };
    };
    let record: KeyRecord | undefined;
    for (let pass = 1; pass <= 2 && !record; pass++) {
      const created = await create();
      if (created) {
        onChange(userId);
        return created;
      }
      // Refused: the key is live (a replay, or the same key with another request), the limit is reached, or
      // the user has no row yet (never wrote): the row is added, and the create tried once more.
      record = await recall(userId, key);
      if (!record && pass === 1) await runQuery("new_user", () => driverRows(statements.newUser, { userId }), { idempotent: true });
    }
    if (!record) return { outcome: "limit-reached" };
    if (record.request_hash !== hash) return { outcome: "key-reused" };
    // The original answer, rebuilt: the same request made it, at the key's instant, as version 1.
    const todo = {
      id: record.todo_id,
      title: request.title,
      description: request.description,
      is_completed: false,
      priority: request.priority,
      created_at: record.created_at,
      updated_at: record.created_at,
      user_id: userId,
    };
    return { outcome: "replayed", todo, version: 1 };
  }

  /** The live key and what its create made (whether that todo still exists or not). */
  async function recall(userId: string, key: string): Promise<KeyRecord | undefined> {
    const [record] = await runQuery("recall_idempotency_key", () => driverRows<KeyRecord>(statements.recallKey, { userId, key }), {
      idempotent: true,
    });
    return record;
  }

  return {
    maxTodosPerUser,

    /**
     * A new todo, unless the user already has maxTodosPerUser todos. With an idempotency key, the key's
     * first create makes the todo and every later one with the same request answers it again.
     */
    async create(userId: string, input: NewTodo, idempotencyKey?: string): Promise<CreateOutcome> {
      if (idempotencyKey !== undefined) return createWithKey(userId, input, idempotencyKey);
      const values = { userId, ...withDefaults(input), maxTodos: maxTodosPerUser };
      const [row] = await runQuery("create_todo", () => versionedRows(statements.create, values));
      if (!row) return { outcome: "limit-reached" };
      onChange(userId);
      return { outcome: "created", ...versioned(row) };
    },

    /** A page of the user's todos in the order asked (newest first by default), filtered, after `after`. */
    async list(userId: string, { limit, sort = "created_at", order = NATURAL[sort], filters = {}, after }: PageRequest): Promise<Page> {
      const filtering = filteringOf(filters);
      const shape = { sort, order, after: after !== undefined, ...filtering };
      const key = JSON.stringify(shape);
      const page = pages.get(key) ?? preparePage(db, todoColumns, shape);
      pages.set(key, page);
      const values = {
        ...filterValues(userId, filters),
        afterId: after?.id,
        afterAt: after?.at,
        afterTitle: after?.title,
        afterPriority: after?.priority,
        // One row more than the page says whether another page follows.
        limit: limit + 1,
      };
      const rows = await runQuery("list_todos", () => driverRows<PageRow>(page.statement, values), { idempotent: true });
      const items = rows.slice(0, limit).map(({ total, title_key, ...todo }) => todo);
      const total = rows[0]?.total ?? (await count(filtering, values));
      const last = rows[limit - 1] ?? rows.at(-1);
      const position = last && {
        id: last.id,
        at: sort === "updated_at" ? last.updated_at : last.created_at,
        title: last.title_key,
        priority: last.priority,
      };
      return { items, hasMore: rows.length > limit, total, last: position };
    },

    /**
     * Sets `changes` on every todo of the user's the filters match, in one statement (each a new version, all at
     * one change position); with no filter, on every todo. Returns how many it changed.
     */
    async updateAll(userId: string, filters: ListFilters, changes: TodoChanges): Promise<number> {
      const fields = changeableFields.filter((field) => changes[field] !== undefined);
      const filtering = filteringOf(filters);
      const key = `${fields.join()}:${JSON.stringify(filtering)}`;
      const statement =
        bulkUpdates.get(key) ??
        statements.changeAll(
          Object.fromEntries(fields.map((field) => [changeableColumns[field], sql`${sql.placeholder(field)}`])),
          filtered(filtering),
          statementName(`update_todos_${fields.join("_")}${nameOf(filtering)}`),
        );
      bulkUpdates.set(key, statement);
      const [row] = await runQuery("update_todos", () =>
        driverRows<{ count: number }>(statement, { ...changes, ...filterValues(userId, filters) }),
      );
      return changedCount(userId, row?.count ?? 0);
    },

    /** Deletes every todo of the user's the filters match (with no filter, every todo), in one statement. */
    async removeAll(userId: string, filters: ListFilters): Promise<number> {
      const filtering = filteringOf(filters);
      const key = JSON.stringify(filtering);
      const statement =
        bulkRemovals.get(key) ?? statements.removeAll(filtered(filtering), statementName(`delete_todos${nameOf(filtering)}`));
      bulkRemovals.set(key, statement);
      const [row] = await runQuery("delete_todos", () => driverRows<{ count: number }>(statement, filterValues(userId, filters)));
      return changedCount(userId, row?.count ?? 0);
    },

    /** The user's changes after `since` (see feedQuery). */
    async changes(userId: string, { since, limit }: FeedRequest): Promise<FeedPage> {
      // One row more than the page says whether another page follows.
      const rows = await runQuery("todo_changes", () => rowsOf<FeedRow>(db, feedQuery(userId, since, limit + 1)), { idempotent: true });
      // From the start (position 0) every live todo is listed, and no forgotten delete matters.
      const [first] = rows;
      const [forgotten, last] = [Number(first?.forgotten_through ?? 0), Number(first?.last_position ?? 0)];
      if (since.position > 0 && (since.position < forgotten || since.position > last)) return "resync";
      const changes: PlacedChange[] = [];
      for (const { forgotten_through, last_position, position, changed_id: id, deleted, ...todo } of rows.slice(0, limit)) {
        // No change at all: the one row says only how far deletes are forgotten.
        if (position === null || id === null) break;
        changes.push({ change: deleted ? { type: "delete", id } : { type: "upsert", todo }, at: { position: Number(position), id } });
      }
      return { changes, next: changes.at(-1)?.at ?? since, hasMore: rows.length > limit };
    },

    /** Tells every instance listening that these users' todos changed (announce.ts). Not a request's. */
    async announce(userIds: string[]): Promise<void> {
      await runQuery("announce_changes", () => driverRows(statements.announce, { userIds: userArray(userIds) }));
    },

    /**
     * The last change position of each of these users who has changed anything. Not a request's: live.ts
     * checks its streams with it, in case an announcement was lost.
     */
    async lastPositions(userIds: string[]): Promise<Map<string, number>> {
      const rows = await runQuery(
        "last_change_positions",
        () => driverRows<{ id: string; position: number | string }>(statements.lastPositions, { userIds: userArray(userIds) }),
        { idempotent: true },
      );
      return new Map(rows.map(({ id, position }) => [id, Number(position)]));
    },

    /** The todo, or undefined when it does not exist or belongs to someone else. */
    async get(userId: string, id: string): Promise<VersionedTodo | undefined> {
      const [row] = await runQuery("get_todo", () => versionedRows(statements.get, { userId, id }), { idempotent: true });
      return row && versioned(row);
    },

    /** The todo's version, or undefined as get's: what a conditional read needs, without the todo. */
    version: versionOf,

    async update(userId: string, id: string, changes: TodoChanges, ifVersions?: number[]): Promise<GuardedOutcome<VersionedTodo>> {
      const fields = changeableFields.filter((field) => changes[field] !== undefined);
      const conditional = ifVersions !== undefined;
      const key = `${fields.join()}${conditional ? "?" : ""}`;
      const update = updates.get(key) ?? prepareUpdate(statements, fields, conditional);
      updates.set(key, update);
      const [row] = await runQuery(update.name, () =>
        versionedRows(update.statement, { ...changes, userId, id, ifVersions: versionList(ifVersions) }),
      );
      if (row) return changedTodo(userId, row);
      return conditional ? whyUnchanged(userId, id) : "missing";
    },

    /** Flips the todo's completion in one statement (at one of ifVersions, if given). */
    async toggleCompletion(userId: string, id: string, ifVersions?: number[]): Promise<GuardedOutcome<VersionedTodo>> {
      const conditional = ifVersions !== undefined;
      const [name, statement] = conditional ? ["toggle_todo_if_version", statements.toggleAtVersion] : ["toggle_todo", statements.toggle];
      const [row] = await runQuery(name, () => versionedRows(statement, { userId, id, ifVersions: versionList(ifVersions) }));
      if (row) return changedTodo(userId, row);
      return conditional ? whyUnchanged(userId, id) : "missing";
    },

    /** How many todos the user has: in all, completed, and of each priority. */
    async summary(userId: string): Promise<TodoSummary> {
      const [row] = await runQuery("todo_summary", () => driverRows<TodoSummary>(statements.summary, { userId }), { idempotent: true });
      return row ?? { total: 0, completed: 0, high: 0, medium: 0, low: 0 };
    },

    /** "removed" when the user's todo existed (at one of ifVersions, if given) and is now gone. */
    async remove(userId: string, id: string, ifVersions?: number[]): Promise<GuardedOutcome<"removed">> {
      const conditional = ifVersions !== undefined;
      const [name, statement] = conditional ? ["delete_todo_if_version", statements.removeAtVersion] : ["delete_todo", statements.remove];
      const removed = await runQuery(name, () =>
        driverRows<{ id: string }>(statement, { userId, id, ifVersions: versionList(ifVersions) }),
      );
      if (removed.length > 0) {
        onChange(userId);
        return "removed";
      }
      return conditional ? whyUnchanged(userId, id) : "missing";
    },
  };
}

export type TodoStore = ReturnType<typeof todoStore>;
export type TodoSummary = { total: number; completed: number; high: number; medium: number; low: number };

/**
 * Forgets the deletes older than `retentionS` seconds, a user at a time (each user's row locked first, as
 * every change does), raising each user's forgotten_through: a feed from before it is then refused. Returns
 * how many users it went through.
 */
export async function forgetOldDeletes(db: Db, retentionS: number): Promise<number> {
  const cutoff = sql`now() - make_interval(secs => ${retentionS})`;
  const batch = 100;
  let swept = 0;
  for (;;) {
    const stale = await rowsOf<{ user_id: string }>(
      db,
      sql`select distinct ${todoTombstones.userId} as user_id from ${todoTombstones} where ${todoTombstones.deletedAt} < ${cutoff} limit ${batch}`,
    );
    for (const { user_id: userId } of stale) await forgetUsersOldDeletes(db, userId, cutoff);
    swept += stale.length;
    if (stale.length < batch) return swept;
  }
}

async function forgetUsersOldDeletes(db: Db, userId: string, cutoff: SQL) {
  await db.execute(sql`
      with locked as (select from ${users} where ${users.id} = ${userId} for update),
      forgotten as (
        delete from ${todoTombstones}
        where ${todoTombstones.userId} = ${userId} and ${todoTombstones.deletedAt} < ${cutoff} and exists (select from locked)
        returning ${todoTombstones.changePosition} as position)
      update ${users} set forgotten_through = greatest(${users.forgottenThrough}, (select max(position) from forgotten)),
        tombstone_count = ${users.tombstoneCount} - (select count(*) from forgotten)::int
      where ${users.id} = ${userId} and exists (select from forgotten)`);
}
