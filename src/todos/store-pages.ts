// The list's statements, part of the data module (store.ts): a page of the user's todos in any order, filtered,
// with the number of todos the filters match. A page is a seek from a position in an index of its order, never an
// OFFSET, so a deep page costs what the first does. One prepared statement per shape (order, filters, first page
// or not), made on first use: an `OR` or a NULL test for an absent filter would keep Postgres from seeking.
import { and, asc, desc, eq, getTableName, type SQL, sql } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import type { Db } from "../db/connect";
import { type PRIORITIES, todos, users } from "../db/schema";

type Priority = (typeof PRIORITIES)[number];
export const SORTS = ["created_at", "updated_at", "title", "priority"] as const;
export type Sort = (typeof SORTS)[number];
export type Direction = "asc" | "desc";
/** Each order's direction when none is asked for: newest first; A to Z; High first (then newest). */
export const NATURAL: Record<Sort, Direction> = { created_at: "desc", updated_at: "desc", title: "asc", priority: "asc" };

export type ListFilters = { completed?: boolean; priorities?: Priority[]; q?: string };
/** Where a page starts: after the todo with this id, whose keys in the page's order are these. */
export type ListPosition = { id: string; at?: string; title?: string; priority?: Priority };
export type PageShape = { sort: Sort; order: Direction; after: boolean } & { [K in keyof ListFilters]?: boolean };

const userId = sql.placeholder("userId");
const idParam = sql`${sql.placeholder("afterId")}::uuid`;
// Positions are sent as text and cast: the driver's mapping of a Date is not trusted to keep zone and milliseconds.
const atParam = sql`${sql.placeholder("afterAt")}::timestamptz`;
const titleKey = sql`lower(${todos.title})`;

/** Case-insensitive substring: `%`, `_` and `\` in what was typed match themselves. */
export const searchPattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

// A column named with its table: Drizzle names a column alone inside a selected expression, where a subquery's
// columns would then be read as the outer query's by a reader (if not by Postgres).
const named = (column: AnyPgColumn) => sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;

/** Which filters a statement has (its shape), and its name's part for them. */
export const filteringOf = ({ completed, priorities, q }: ListFilters) => ({
  completed: completed !== undefined,
  priorities: priorities !== undefined,
  q: q !== undefined,
});
export const nameOf = (filtering: Pick<PageShape, keyof ListFilters>) =>
  (["completed", "priorities", "q"] as const)
    .map((filter) => [filter, filtering[filter]] as const)
    .filter(([, on]) => on)
    .map(([filter]) => `_${filter}`)
    .join("");
/**
 * A prepared statement's name: Postgres keeps 63 bytes of it, and two names cut to the same 63 bytes would be one
 * statement (the Neon driver then fails to prepare the second). A longer name keeps its start and a hash of it all.
 */
export const statementName = (name: string) => (name.length <= 63 ? name : `${name.slice(0, 48)}_${Bun.hash(name).toString(36)}`);
/** The filters' values, as a statement of their shape takes them. */
export const filterValues = (userId: string, { completed, priorities, q }: ListFilters) => ({
  userId,
  completed,
  priorities: priorities && `{${priorities.join(",")}}`,
  pattern: q === undefined ? undefined : searchPattern(q),
});

/** The filters, as conditions on `todos` (in the page, and again in its count). */
export function filtered(
  { completed, priorities, q }: Pick<PageShape, keyof ListFilters>,
  column: (c: AnyPgColumn) => SQL | AnyPgColumn = (c) => c,
): SQL {
  return and(
    sql`${column(todos.userId)} = ${userId}`,
    completed ? sql`${column(todos.isCompleted)} = ${sql.placeholder("completed")}` : undefined,
    priorities ? sql`${column(todos.priority)} = any(${sql.placeholder("priorities")}::todo_priority[])` : undefined,
    // Title and description as one text: a newline between them, which a search cannot contain, so no match
    // spans the two.
    q
      ? sql`(${column(todos.title)} || E'\\n' || coalesce(${column(todos.description)}, '')) ilike ${sql.placeholder("pattern")}`
      : undefined,
  ) as SQL;
}

/** The todos' columns as the API names them, and what the page also needs. */
function pageColumns(todoColumns: Record<string, unknown>, shape: PageShape) {
  const unfiltered = !shape.completed && !shape.priorities && !shape.q;
  // Without a filter, the count the user's row keeps; else a count of the matches, in the page's snapshot.
  const total = unfiltered
    ? sql<number>`(select ${named(users.todoCount)} from ${users} where ${named(users.id)} = ${userId})`
    : sql<number>`(select count(*)::int from ${todos} where ${filtered(shape, named)})`;
  return {
    ...todoColumns,
    total: total.as("total"),
    ...(shape.sort === "title" && { title_key: titleKey.as("title_key") }),
  } as unknown as Record<string, never>;
}

// Each order's keys, in its natural direction; the id last, so that no two todos tie.
const keysOf: Record<Sort, [AnyPgColumn | SQL, Direction][]> = {
  created_at: [
    [todos.createdAt, "desc"],
    [todos.id, "desc"],
  ],
  updated_at: [
    [todos.updatedAt, "desc"],
    [todos.id, "desc"],
  ],
  title: [
    [titleKey, "asc"],
    [todos.id, "asc"],
  ],
  priority: [
    [todos.priority, "asc"],
    [todos.createdAt, "desc"],
    [todos.id, "desc"],
  ],
};

const flip = (direction: Direction): Direction => (direction === "asc" ? "desc" : "asc");
const ordered = ([key, direction]: [AnyPgColumn | SQL, Direction]) => (direction === "asc" ? asc(key) : desc(key));
/** After a position in this direction: (a, b) > (x, y) ascending, < descending; the keys share a direction. */
const past = (keys: SQL, position: SQL, direction: Direction) => sql`(${keys}) ${sql.raw(direction === "asc" ? ">" : "<")} (${position})`;

export function preparePage(db: Db, todoColumns: Record<string, unknown>, shape: PageShape) {
  const name = statementName(`list_todos_by_${shape.sort}_${shape.order}${shape.after ? "_after" : ""}${nameOf(shape)}`);
  const reversed = shape.order !== NATURAL[shape.sort];
  const keys = keysOf[shape.sort].map(([key, direction]): [AnyPgColumn | SQL, Direction] => [key, reversed ? flip(direction) : direction]);
  const columns = pageColumns(todoColumns, shape);
  const limit = sql.placeholder("limit");
  const page = (where: SQL | undefined, orderKeys = keys) =>
    db
      .select(columns)
      .from(todos)
      .where(and(filtered(shape), where))
      .orderBy(...orderKeys.map(ordered))
      .limit(limit);
  if (!shape.after) return { name, statement: page(undefined).prepare(name) };
  const [[first, firstDirection], ...rest] = keys as [[AnyPgColumn | SQL, Direction], ...[AnyPgColumn | SQL, Direction][]];
  if (shape.sort !== "priority") {
    const position = sql`${first === todos.title || shape.sort === "title" ? sql.placeholder("afterTitle") : atParam}, ${idParam}`;
    return { name, statement: page(past(sql`${first}, ${todos.id}`, position, firstDirection)).prepare(name) };
  }
  // By priority, then by time: the two keys run in opposite directions, which no row comparison expresses. So
  // two seeks: the rest of the position's priority, then the priorities after it; each reads only its page.
  const [timeDirection] = [rest[0]?.[1] as Direction];
  const priorityParam = sql`${sql.placeholder("afterPriority")}::todo_priority`;
  const samePriority = and(
    eq(todos.priority, priorityParam),
    past(sql`${todos.createdAt}, ${todos.id}`, sql`${atParam}, ${idParam}`, timeDirection),
  );
  const laterPriorities = sql`${todos.priority} ${sql.raw(firstDirection === "asc" ? ">" : "<")} ${priorityParam}`;
  const outer = keys.map(([key, direction]) => {
    // The union's rows are ordered by its columns' names: created_at there is ISO text, which sorts as its instant.
    const column = key === todos.priority ? "priority" : key === todos.createdAt ? "created_at" : "id";
    return sql`${sql.identifier(column)} ${sql.raw(direction)}`;
  });
  const statement = page(samePriority, rest)
    .unionAll(page(laterPriorities))
    .orderBy(...outer)
    .limit(limit)
    .prepare(name);
  return { name, statement };
}

/** The number of todos the filters match, for a page with no rows to carry it. */
export function prepareCount(db: Db, shape: Pick<PageShape, keyof ListFilters>) {
  const name = statementName(`count_todos${nameOf(shape)}`);
  const { total } = pageColumns({}, { sort: "created_at", order: "desc", after: false, ...shape }) as unknown as { total: SQL.Aliased };
  return { name, statement: db.select({ total }).from(sql`(values (1)) as one_row(x)`).prepare(name) };
}
