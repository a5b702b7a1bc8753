// The data module: the only place that knows SQL. Every function takes the caller's
// userId and every statement on `todos` is filtered by it, so no function can reach
// another user's rows.
//
// Statements are built and prepared once per database, with placeholders: building the
// SQL on every call was three quarters of the CPU a retrieve spent in JavaScript
// (bench/results.md).
import { and, desc, eq, sql } from "drizzle-orm";
import type { SelectResultFields } from "drizzle-orm/query-builders/select.types";
import type { Budget } from "../db/budget";
import type { Db } from "../db/connect";
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

// The compiler holds the selection to the API's shape: renaming, adding or dropping a column above
// (or a field of Todo) fails here, not in a client.
type TodoRow = SelectResultFields<typeof todoColumns>;
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const rowIsTodo: Same<TodoRow, Todo> = true;
void rowIsTodo;

// Drizzle's prepared queries also have all(): the driver's own row objects, without Drizzle's
// per-column mapping, which was a fifth of a list's CPU (bench/results.md). It is not in Drizzle's
// shared prepared-query type, but every driver here has it, and every driver runs the test suite.
// Skipping the mapping is right only for columns whose driver value already is the JSON value:
// uuid, varchar, text and boolean (as here). Not for timestamp, numeric, bigint or json: format
// those in SQL, as created_at is.
type Statement = { execute(values: Record<string, unknown>): Promise<unknown> };
const todoRows = (statement: Statement, values: Record<string, unknown>) =>
  (statement as unknown as { all(values: Record<string, unknown>): Promise<TodoRow[]> }).all(values);

const userId = sql.placeholder("userId");
const ownTodo = and(eq(todos.userId, userId), eq(todos.id, sql.placeholder("id")));
const maxTodos = sql.placeholder("maxTodos");
// Counting stops at the limit, so a user near it costs at most that many index entries.
const underLimit = sql`(select count(*) from (select from ${todos} where ${todos.userId} = ${userId} limit ${maxTodos}) as existing) < ${maxTodos}`;

/** Each field a PATCH may change, and its column: a field of TodoChanges missing here does not compile. */
const changeableColumns = {
  title: "title",
  description: "description",
  is_completed: "isCompleted",
} as const satisfies Record<keyof TodoChanges, keyof typeof todos.$inferInsert>;
const changeableFields = Object.keys(changeableColumns) as (keyof TodoChanges)[];

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
  const name = `list_todos${byCompletion ? "_by_completion" : ""}${after ? "_after" : ""}`;
  const statement = db
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
    .prepare(name);
  return { name, statement };
}

export type PageRequest = { limit: number; after?: TodoPosition; completed?: boolean };
export type Page = { items: Todo[]; hasMore: boolean };

// An update sets only the fields sent: one prepared statement per combination, made on first use.
function prepareUpdate(db: Db, fields: (keyof TodoChanges)[]) {
  // Drizzle's types take no bare placeholder in set(); wrapped in sql`` it is the same parameter.
  const set = Object.fromEntries(fields.map((field) => [changeableColumns[field], sql`${sql.placeholder(field)}`]));
  const name = `update_todo_${fields.join("_")}`;
  return { name, statement: db.update(todos).set(set).where(ownTodo).returning(todoColumns).prepare(name) };
}

/** The data module for one database; each call runs within the budget (circuit, deadline, safe retries). */
export function todoStore(db: Db, budget: Budget, { maxTodosPerUser }: { maxTodosPerUser: number }) {
  const statements = prepareStatements(db);
  const updates = new Map<string, ReturnType<typeof prepareUpdate>>();

  return {
    maxTodosPerUser,

    /** The new todo, or undefined when the user already has maxTodosPerUser todos. */
    async create(userId: string, input: NewTodo): Promise<Todo | undefined> {
      const values = { userId, title: input.title, description: input.description ?? null, maxTodos: maxTodosPerUser };
      const [todo] = await budget("create_todo", () => todoRows(statements.create, values));
      return todo;
    },

    /** A page of the user's todos, newest first, starting after `after`; optionally only those with that completion. */
    async list(userId: string, { limit, after, completed }: PageRequest): Promise<Page> {
      const { list } = statements;
      const byCompletion = completed !== undefined;
      const page = after ? (byCompletion ? list.afterByCompletion : list.after) : byCompletion ? list.firstByCompletion : list.first;
      // One row more than the page says whether another page follows, without a count.
      const values = { userId, completed, afterCreatedAt: after?.created_at, afterId: after?.id, limit: limit + 1 };
      const rows = await budget(page.name, () => todoRows(page.statement, values), { idempotent: true });
      return { items: rows.slice(0, limit), hasMore: rows.length > limit };
    },

    /** The todo, or undefined when it does not exist or belongs to someone else. */
    async get(userId: string, id: string): Promise<Todo | undefined> {
      const [todo] = await budget("get_todo", () => todoRows(statements.get, { userId, id }), { idempotent: true });
      return todo;
    },

    async update(userId: string, id: string, changes: TodoChanges): Promise<Todo | undefined> {
      const fields = changeableFields.filter((field) => changes[field] !== undefined);
      const key = fields.join();
      const update = updates.get(key) ?? prepareUpdate(db, fields);
      updates.set(key, update);
      const [todo] = await budget(update.name, () => todoRows(update.statement, { ...changes, userId, id }));
      return todo;
    },

    /** True when the user's todo existed and is now gone. */
    async remove(userId: string, id: string): Promise<boolean> {
      const deleted = await budget("delete_todo", () => statements.remove.execute({ userId, id }));
      return deleted.length > 0;
    },
  };
}

export type TodoStore = ReturnType<typeof todoStore>;
