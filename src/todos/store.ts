// The data module: the only place that knows SQL. Every function takes the caller's
// userId and every statement on `todos` is filtered by it, so no function can reach
// another user's rows.
import { and, desc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/connect";
import type { Guard } from "../db/guard";
import { todos, users } from "../db/schema";

export type Todo = {
  id: string;
  title: string;
  description: string | null;
  is_completed: boolean;
  created_at: string;
  user_id: string;
};

export type NewTodo = { title: string; description?: string | null };
export type TodoChanges = { title?: string; description?: string | null; is_completed?: boolean };

// Postgres formats the instant itself, so every driver returns the exact stored value in UTC
// (Drizzle's bun-sql mapping of timestamps has open reports of shifted zones and lost precision).
const createdAtUtc = sql<string>`to_char(${todos.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const todoColumns = {
  id: todos.id,
  title: todos.title,
  description: todos.description,
  is_completed: todos.isCompleted,
  created_at: createdAtUtc,
  user_id: todos.userId,
};

const ownedBy = (userId: string, id: string) => and(eq(todos.userId, userId), eq(todos.id, id));

/** Creates the todo, and its user on their first write, in one statement. */
export async function createTodo(db: Db, userId: string, input: NewTodo): Promise<Todo> {
  const newUser = db.$with("new_user").as(db.insert(users).values({ id: userId }).onConflictDoNothing().returning({ id: users.id }));
  const [todo] = await db
    .with(newUser)
    .insert(todos)
    .values({ userId, title: input.title, description: input.description ?? null })
    .returning(todoColumns);
  if (!todo) throw new Error("insert returned no row");
  return todo;
}

/** The user's todos, newest first. */
export async function listTodos(db: Db, userId: string): Promise<Todo[]> {
  return db.select(todoColumns).from(todos).where(eq(todos.userId, userId)).orderBy(desc(todos.createdAt), desc(todos.id));
}

/** The todo, or undefined when it does not exist or belongs to someone else. */
export async function getTodo(db: Db, userId: string, id: string): Promise<Todo | undefined> {
  const [todo] = await db.select(todoColumns).from(todos).where(ownedBy(userId, id));
  return todo;
}

export async function updateTodo(db: Db, userId: string, id: string, changes: TodoChanges): Promise<Todo | undefined> {
  const [todo] = await db
    .update(todos)
    .set({ title: changes.title, description: changes.description, isCompleted: changes.is_completed })
    .where(ownedBy(userId, id))
    .returning(todoColumns);
  return todo;
}

/** True when the user's todo existed and is now gone. */
export async function deleteTodo(db: Db, userId: string, id: string): Promise<boolean> {
  const deleted = await db.delete(todos).where(ownedBy(userId, id)).returning({ id: todos.id });
  return deleted.length > 0;
}

/** The functions above bound to one database, each call run inside the guard. */
export function todoStore(db: Db, guard: Guard) {
  return {
    create: (userId: string, input: NewTodo) => guard(() => createTodo(db, userId, input)),
    list: (userId: string) => guard(() => listTodos(db, userId), { idempotent: true }),
    get: (userId: string, id: string) => guard(() => getTodo(db, userId, id), { idempotent: true }),
    update: (userId: string, id: string, changes: TodoChanges) => guard(() => updateTodo(db, userId, id, changes)),
    remove: (userId: string, id: string) => guard(() => deleteTodo(db, userId, id)),
  };
}

export type TodoStore = ReturnType<typeof todoStore>;
