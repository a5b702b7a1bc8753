// The lists' floor (issue 29): GET and PATCH /api/v1/todos with every order, filter, search, total and bulk change,
// with nothing but Bun.serve and Bun's SQL client. It sends the service's statements (src/todos/store-pages.ts and
// store.ts) as the same text with the same parameters, so what the service costs above it is the price of Elysia,
// Drizzle, validation and the guard, as in bench/floor.ts, whose spirit (and response headers) this copies.
// Run by bench/lists.ts as `bun bench/lists-floor.ts` with PORT, DATABASE_URL and DB_POOL_MAX.
import { SQL } from "bun";
import { decodeCursor, encodeCursor, filtersDigest } from "../src/todos/cursor";

const sql = new SQL({ url: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10), connection: { TimeZone: "UTC" } });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SORTS = ["created_at", "updated_at", "title", "priority"] as const;
type Sort = (typeof SORTS)[number];
type Direction = "asc" | "desc";
const NATURAL: Record<Sort, Direction> = { created_at: "desc", updated_at: "desc", title: "asc", priority: "asc" };
const PRIORITIES = ["High", "Medium", "Low"] as const;
type Priority = (typeof PRIORITIES)[number];
type Filters = { completed?: boolean; priorities?: Priority[]; q?: string };
const isPriority = (text: unknown): text is Priority => (PRIORITIES as readonly unknown[]).includes(text);

// What every answer of the service carries, as bench/floor.ts sends it.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const apiHeaders = (request: Request, extra?: Record<string, string>) => {
  const incoming = request.headers.get("x-request-id");
  return {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-request-id": incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID(),
    ...extra,
  };
};
const problem = (request: Request, status: number, detail: string) =>
  Response.json({ status, detail }, { status, headers: apiHeaders(request, { "content-type": "application/problem+json" }) });

// The statements' text, as Drizzle writes it: placeholders numbered in order of appearance.
const utc = (column: string) => `to_char("${column}" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "${column}"`;
const COLUMNS = `"id", "title", "description", "is_completed", "priority", ${utc("created_at")}, ${utc("updated_at")}, "user_id"`;
/** Drizzle's and(): one condition as it is, several in parentheses. */
const and = (...conditions: (string | undefined)[]) => {
  const present = conditions.filter((condition): condition is string => condition !== undefined);
  return present.length === 1 ? (present[0] as string) : `(${present.join(" and ")})`;
};

class Statement {
  readonly values: unknown[] = [];
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  /** The filters as conditions on todos: the page's and its count's (store-pages.ts, filtered()). */
  filtered(userId: string, { completed, priorities, q }: Filters): string {
    return and(
      `"todos"."user_id" = ${this.param(userId)}`,
      completed === undefined ? undefined : `"todos"."is_completed" = ${this.param(completed)}`,
      priorities === undefined ? undefined : `"todos"."priority" = any(${this.param(`{${priorities.join(",")}}`)}::todo_priority[])`,
      q === undefined
        ? undefined
        : `("todos"."title" || E'\\n' || coalesce("todos"."description", '')) ilike ${this.param(`%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`,
    );
  }
  total(userId: string, filters: Filters): string {
    const unfiltered = filters.completed === undefined && filters.priorities === undefined && filters.q === undefined;
    return unfiltered
      ? `(select "users"."todo_count" from "users" where "users"."id" = ${this.param(userId)})`
      : `(select count(*)::int from "todos" where ${this.filtered(userId, filters)})`;
  }
}

type Key = { expression: string; direction: Direction };
const KEYS: Record<Sort, Key[]> = {
  created_at: [
    { expression: `"todos"."created_at"`, direction: "desc" },
    { expression: `"todos"."id"`, direction: "desc" },
  ],
  updated_at: [
    { expression: `"todos"."updated_at"`, direction: "desc" },
    { expression: `"todos"."id"`, direction: "desc" },
  ],
  title: [
    { expression: `lower("todos"."title")`, direction: "asc" },
    { expression: `"todos"."id"`, direction: "asc" },
  ],
  priority: [
    { expression: `"todos"."priority"`, direction: "asc" },
    { expression: `"todos"."created_at"`, direction: "desc" },
    { expression: `"todos"."id"`, direction: "desc" },
  ],
};
const flip = (direction: Direction): Direction => (direction === "asc" ? "desc" : "asc");
const orderBy = (keys: Key[]) => keys.map(({ expression, direction }) => `${expression} ${direction}`).join(", ");
const past = (direction: Direction) => (direction === "asc" ? ">" : "<");

type Position = { id: string; at?: string; title?: string; priority?: string };

/** A page's statement: preparePage() of store-pages.ts, written out. */
function pageStatement(userId: string, sort: Sort, order: Direction, filters: Filters, after: Position | undefined, limit: number) {
  const statement = new Statement();
  const keys = KEYS[sort].map((key) => ({ ...key, direction: order === NATURAL[sort] ? key.direction : flip(key.direction) }));
  const select = (where: () => string | undefined, orderKeys: Key[]) => {
    const total = statement.total(userId, filters);
    const titleKey = sort === "title" ? `, lower("title") as "title_key"` : "";
    const conditions = and(statement.filtered(userId, filters), where());
    return `select ${COLUMNS}, ${total} as "total"${titleKey} from "todos" where ${conditions} order by ${orderBy(orderKeys)} limit ${statement.param(limit)}`;
  };
  const [first, ...rest] = keys as [Key, ...Key[]];
  if (!after) return { text: select(() => undefined, keys), statement };
  if (sort !== "priority") {
    const seek = () => {
      const position = sort === "title" ? statement.param(after.title) : `${statement.param(after.at)}::timestamptz`;
      return `(${first.expression}, "todos"."id") ${past(first.direction)} (${position}, ${statement.param(after.id)}::uuid)`;
    };
    return { text: select(seek, keys), statement };
  }
  // By priority, then by time: the rest of the position's priority, then the priorities after it (two seeks).
  const time = rest[0] as Key;
  const samePriority = () => {
    const priority = `${statement.param(after.priority)}::todo_priority`;
    const at = `${statement.param(after.at)}::timestamptz`;
    return `("todos"."priority" = ${priority} and ("todos"."created_at", "todos"."id") ${past(time.direction)} (${at}, ${statement.param(after.id)}::uuid))`;
  };
  const head = select(samePriority, rest);
  const tail = select(() => `"todos"."priority" ${past(first.direction)} ${statement.param(after.priority)}::todo_priority`, keys);
  const outer = keys.map(({ expression, direction }) => `"${/"(\w+)"$/.exec(expression)?.[1]}" ${direction}`).join(", ");
  return { text: `(${head}) union all (${tail}) order by ${outer}  limit ${statement.param(limit)}`, statement };
}

/** The count a page with no rows cannot carry: prepareCount() of store-pages.ts. */
function countStatement(userId: string, filters: Filters) {
  const statement = new Statement();
  return { text: `select ${statement.total(userId, filters)} as "total" from (values (1)) as one_row(x)`, statement };
}

/** A bulk change: changingAll() of store.ts, on the user's locked row, at one change position. */
function bulkStatement(userId: string, filters: Filters, changes: Record<string, unknown>) {
  const statement = new Statement();
  const position = `select "change_position" + 1 as "next", "todo_count", "tombstone_count" from "users" where "users"."id" = ${statement.param(userId)} for update`;
  const set = ["title", "description", "is_completed", "priority"]
    .filter((field) => changes[field] !== undefined)
    .map((field) => `"${field}" = ${statement.param(changes[field])}`)
    .join(", ");
  const changed = `update "todos" set ${set}, "updated_at" = now(), "version" = "todos"."version" + 1, "change_position" = (select "next" from "position") where ${statement.filtered(userId, filters)} returning ${COLUMNS}, "version"`;
  const advanced = `update "users" set "change_position" = "users"."change_position" + 1 where ("users"."id" = ${statement.param(userId)} and exists (select from "changed")) returning "id"`;
  const text = `with "position" as (${position}), "changed" as (${changed}), "advanced" as (${advanced}) select count(*)::int as "count" from "changed"`;
  return { text, statement };
}

/** The filters of a query, or the reason they are refused. */
function filtersOf(query: URLSearchParams): Filters | string {
  const completed = query.get("completed");
  if (completed !== null && completed !== "true" && completed !== "false") return "completed must be true or false.";
  const priority = query.get("priority");
  const priorities = priority === null ? undefined : priority.split(",");
  if (priorities && !priorities.every(isPriority)) return "priority must be High, Medium or Low, comma-separated.";
  const q = query.get("q") ?? undefined;
  if (q !== undefined && (q.length < 1 || q.length > 100)) return "q must be 1 to 100 characters.";
  return { completed: completed === null ? undefined : completed === "true", priorities: priorities as Priority[] | undefined, q };
}

function callerOf(request: Request): string | undefined {
  const userId = request.headers.get("x-user-id")?.trim();
  return userId && UUID.test(userId) ? userId.toLowerCase() : undefined;
}

type Row = Record<string, unknown> & {
  id: string;
  created_at: string;
  updated_at: string;
  priority: Priority;
  total?: number;
  title_key?: string;
};

async function list(request: Request, userId: string): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const limitText = query.get("limit");
  const limit = Number(limitText ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) return problem(request, 400, "limit must be an integer from 1 to 200.");
  const sortText = query.get("sort");
  const orderText = query.get("order");
  if (sortText !== null && !(SORTS as readonly string[]).includes(sortText)) return problem(request, 400, "sort is not an order.");
  if (orderText !== null && orderText !== "asc" && orderText !== "desc") return problem(request, 400, "order must be asc or desc.");
  const sort = (sortText ?? "created_at") as Sort;
  const order = (orderText ?? NATURAL[sort]) as Direction;
  const filters = filtersOf(query);
  if (typeof filters === "string") return problem(request, 400, filters);
  const digest = filtersDigest(filters);
  const cursorText = query.get("cursor");
  const cursor = cursorText === null ? undefined : decodeCursor(cursorText);
  if (cursorText !== null && (cursor?.sort !== sort || cursor.order !== order || cursor.filters !== digest))
    return problem(request, 400, "cursor is not a cursor of this list.");
  const page = pageStatement(userId, sort, order, filters, cursor?.position, limit + 1);
  const rows: Row[] = await sql.unsafe(page.text, page.statement.values);
  const items = rows.slice(0, limit).map(({ total: _, title_key: __, ...item }) => item);
  let total = rows[0]?.total;
  if (total === undefined) {
    const count = countStatement(userId, filters);
    const [row] = await sql.unsafe(count.text, count.statement.values);
    total = row?.total ?? 0;
  }
  const last = rows[limit - 1];
  const next_cursor =
    rows.length > limit && last
      ? encodeCursor({
          sort,
          order,
          filters: digest,
          position: {
            id: last.id,
            at: sort === "updated_at" ? last.updated_at : last.created_at,
            title: last.title_key,
            priority: last.priority,
          },
        })
      : null;
  const headers: Record<string, string> = {};
  if (next_cursor) {
    const next = Object.entries({
      limit: String(limit),
      sort: sortText,
      order: orderText,
      completed: query.get("completed"),
      priority: query.get("priority"),
      q: query.get("q"),
      cursor: next_cursor,
    }).filter((entry): entry is [string, string] => entry[1] !== null);
    headers.link = `</api/v1/todos?${new URLSearchParams(next)}>; rel="next"`;
  }
  // As the service: a strong ETag of the page's bytes, and a 304 when the client's copy is current.
  const body = JSON.stringify({ items, count: items.length, total, next_cursor });
  const etag = `"${Bun.hash(body).toString(36)}"`;
  const revalidated = { etag, "cache-control": "private, no-cache", vary: "Authorization, X-User-Id" };
  if (request.headers.get("if-none-match") === etag)
    return new Response(null, { status: 304, headers: apiHeaders(request, { ...headers, ...revalidated }) });
  return new Response(body, { headers: apiHeaders(request, { ...headers, ...revalidated, "content-type": "application/json" }) });
}

async function changeAll(request: Request, userId: string): Promise<Response> {
  const query = new URL(request.url).searchParams;
  const filters = filtersOf(query);
  if (typeof filters === "string") return problem(request, 400, filters);
  const filtering = filters.completed !== undefined || filters.priorities !== undefined || filters.q !== undefined;
  if (filtering === (query.get("all") === "true")) return problem(request, 400, "Name a filter, or all=true, not both.");
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    body = undefined;
  }
  const { title, description, is_completed, priority } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const valid =
    (title === undefined || typeof title === "string") &&
    (description === undefined || description === null || typeof description === "string") &&
    (is_completed === undefined || typeof is_completed === "boolean") &&
    (priority === undefined || isPriority(priority));
  const changes = { title, description, is_completed, priority };
  if (!valid || Object.values(changes).every((value) => value === undefined))
    return problem(request, 422, "The body must set title, description, is_completed or priority.");
  const bulk = bulkStatement(userId, filters, changes);
  const [row] = await sql.unsafe(bulk.text, bulk.statement.values);
  return Response.json({ count: row?.count ?? 0 }, { headers: apiHeaders(request) });
}

const asCaller = (handler: (request: Request, userId: string) => Promise<Response>) => (request: Request) => {
  const userId = callerOf(request);
  return userId ? handler(request, userId) : problem(request, 400, "X-User-Id must be a UUID.");
};

Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  routes: { "/api/v1/todos": { GET: asCaller(list), PATCH: asCaller(changeAll) } },
  fetch: (request) => problem(request, 404, "No such route."),
  error: () => Response.json({ status: 500, detail: "The server failed." }, { status: 500 }),
});
