// The data module: the only place that knows SQL. Every function takes the caller's
// userId and every statement on `todos` is filtered by it, so no function can reach
// another user's rows.
//
// Statements are built and prepared once per database, with placeholders: building the
// SQL on every call was three quarters of the CPU a retrieve spent in JavaScript
// (bench/results.md).
import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/connect";
import type { Guard } from "../db/guard";
import { todos, users } from "../db/schema";
import type { TodoPosition } from "./cursor";
import type { NewTodo, Todo, TodoChanges } from "./model";

// Postgres formats the instant itself, so every driver returns the exact stored value in UTC
// (Drizzle's bun-sql mapping of timestamps has open reports of shifted zones and lost precision).
const createdAtUtc = sql<string>`to_char(${todos.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as("created_at");

// Column names are the API's names, so the driver's rows are already the JSON we answer with.
const todoColumns = {
  id: todos.id,
  title: todos.title,
  description: todos.description,
  is_completed: todos.isCompleted,
  created_at: createdAtUtc,
  user_id: todos.userId,
};

const userId = sql.placeholder("userId");
const ownTodo = and(eq(todos.userId, userId), eq(todos.id, sql.placeholder("id")));

// Drizzle's prepared queries also have all(): the driver's own row objects, without Drizzle's
// per-column mapping, which was a fifth of a list's CPU (bench/results.md). It is not in
// Drizzle's public types, but every driver here has it, and every driver runs the test suite.
type Statement = { execute(values: Record<string, unknown>): Promise<unknown> };
const todoRows = (statement: Statement, values: Record<string, unknown>) =>
  (statement as unknown as { all(values: Record<string, unknown>): Promise<Todo[]> }).all(values);

function prepareStatements(db: Db) {
  // The user is created on their first write, in the same statement as the todo.
  const newUser = db.$with("new_user").as(db.insert(users).values({ id: userId }).onConflictDoNothing().returning({ id: users.id }));
  return {
    create: db
      .with(newUser)
      .insert(todos)
      .values({ userId, title: sql.placeholder("title"), description: sql.placeholder("description") })
      .returning(todoColumns)
      .prepare("create_todo"),
    list: {
      first: preparePage(db, { after: false, byCompletion: false }),
      after: preparePage(db, { after: true, byCompletion: false }),
      firstByCompletion: preparePage(db, { after: false, byCompletion: true }),
      afterByCompletion: preparePage(db, { after: true, byCompletion: true }),
    },
    get: db.select(todoColumns).from(todos).where(ownTodo).prepare("get_todo"),
    remove: db.delete(todos).where(ownTodo).returning({ id: todos.id }).prepare("delete_todo"),
  };
}

// A page is a seek from a position, never an OFFSET: it reads the page's rows from the index, however
// deep. One statement per shape, since an `OR` or a NULL test would keep Postgres from seeking either index.
function preparePage(db: Db, { after, byCompletion }: { after: boolean; byCompletion: boolean }) {
  // The position is sent as ISO text and cast: the driver's own mapping of a Date parameter is not trusted
  // to keep the zone and the milliseconds (see createdAtUtc).
  const position = sql`(${todos.createdAt}, ${todos.id}) < (${sql.placeholder("afterCreatedAt")}::timestamptz, ${sql.placeholder("afterId")}::uuid)`;
  return db
    .select(todoColumns)
    .from(todos)
    .where(
      and(
        eq(todos.userId, userId),
        byCompletion ? eq(todos.isCompleted, sql.placeholder("completed")) : undefined,
        after ? position : undefined,
      ),
    )
    .orderBy(desc(todos.createdAt), desc(todos.id))
    .limit(sql.placeholder("limit"))
    .prepare(`list_todos${byCompletion ? "_by_completion" : ""}${after ? "_after" : ""}`);
}

export type PageRequest = { limit: number; after?: TodoPosition; completed?: boolean };
export type Page = { items: Todo[]; hasMore: boolean };

// An update sets only the fields sent: one prepared statement per combination, made on first use.
function prepareUpdate(db: Db, fields: (keyof TodoChanges)[]) {
  // Drizzle's types take no bare placeholder in set(); wrapped in sql`` it is the same parameter.
  const param = (field: keyof TodoChanges) => (fields.includes(field) ? sql`${sql.placeholder(field)}` : undefined);
  const set = { title: param("title"), description: param("description"), isCompleted: param("is_completed") };
  return db
    .update(todos)
    .set(set)
    .where(ownTodo)
    .returning(todoColumns)
    .prepare(`update_todo_${fields.join("_")}`);
}

/** The data module for one database; each call runs inside the guard (time budget, safe retries). */
export function todoStore(db: Db, guard: Guard) {
  const statements = prepareStatements(db);
  const updates = new Map<string, ReturnType<typeof prepareUpdate>>();

  return {
    async create(userId: string, input: NewTodo): Promise<Todo> {
      const values = { userId, title: input.title, description: input.description ?? null };
      const [todo] = await guard(() => todoRows(statements.create, values));
      if (!todo) throw new Error("insert returned no row");
      return todo;
    },

    /** A page of the user's todos, newest first, starting after `after`; optionally only those with that completion. */
    async list(userId: string, { limit, after, completed }: PageRequest): Promise<Page> {
      const { list } = statements;
      const byCompletion = completed !== undefined;
      const statement = after ? (byCompletion ? list.afterByCompletion : list.after) : byCompletion ? list.firstByCompletion : list.first;
      // One row more than the page says whether another page follows, without a count.
      const values = { userId, completed, afterCreatedAt: after?.created_at, afterId: after?.id, limit: limit + 1 };
      const rows = await guard(() => todoRows(statement, values), { idempotent: true });
      return { items: rows.slice(0, limit), hasMore: rows.length > limit };
    },

    /** The todo, or undefined when it does not exist or belongs to someone else. */
    async get(userId: string, id: string): Promise<Todo | undefined> {
      const [todo] = await guard(() => todoRows(statements.get, { userId, id }), { idempotent: true });
      return todo;
    },

    async update(userId: string, id: string, changes: TodoChanges): Promise<Todo | undefined> {
      const fields = (["title", "description", "is_completed"] as const).filter((field) => changes[field] !== undefined);
      const key = fields.join();
      const statement = updates.get(key) ?? prepareUpdate(db, fields);
      updates.set(key, statement);
      const [todo] = await guard(() => todoRows(statement, { ...changes, userId, id }));
      return todo;
    },

    /** True when the user's todo existed and is now gone. */
    async remove(userId: string, id: string): Promise<boolean> {
      const deleted = await guard(() => statements.remove.execute({ userId, id }));
      return deleted.length > 0;
    },
  };
}

export type TodoStore = ReturnType<typeof todoStore>;
