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
const maxTodos = sql.placeholder("maxTodos");
// Counting stops at the limit, so a user near it costs at most that many index entries.
const underLimit = sql`(select count(*) from (select from ${todos} where ${todos.userId} = ${userId} limit ${maxTodos}) as existing) < ${maxTodos}`;

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
    // INSERT ... SELECT, so that the limit is checked in the statement that inserts. Drizzle's
    // insert-select takes every column in the table's order, hence the defaults spelt out.
    create: db
      .with(newUser)
      .insert(todos)
      .select(
        db
          .select({
            id: sql`gen_random_uuid()`.as("id"),
            userId: sql`${userId}::uuid`.as("user_id"),
            title: sql`${sql.placeholder("title")}`.as("title"),
            description: sql`${sql.placeholder("description")}`.as("description"),
            isCompleted: sql`false`.as("is_completed"),
            createdAt: sql`now()`.as("created_at"),
          })
          .from(sql`(values (1)) as one_row(x)`)
          .where(underLimit),
      )
      .returning(todoColumns)
      .prepare("create_todo"),
    list: db
      .select(todoColumns)
      .from(todos)
      .where(eq(todos.userId, userId))
      .orderBy(desc(todos.createdAt), desc(todos.id))
      .prepare("list_todos"),
    get: db.select(todoColumns).from(todos).where(ownTodo).prepare("get_todo"),
    remove: db.delete(todos).where(ownTodo).returning({ id: todos.id }).prepare("delete_todo"),
  };
}

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
export function todoStore(db: Db, guard: Guard, { maxTodosPerUser }: { maxTodosPerUser: number }) {
  const statements = prepareStatements(db);
  const updates = new Map<string, ReturnType<typeof prepareUpdate>>();

  return {
    maxTodosPerUser,

    /** The new todo, or undefined when the user already has maxTodosPerUser todos. */
    async create(userId: string, input: NewTodo): Promise<Todo | undefined> {
      const values = { userId, title: input.title, description: input.description ?? null, maxTodos: maxTodosPerUser };
      const [todo] = await guard(() => todoRows(statements.create, values));
      return todo;
    },

    /** The user's todos, newest first. */
    list: (userId: string): Promise<Todo[]> => guard(() => todoRows(statements.list, { userId }), { idempotent: true }),

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
