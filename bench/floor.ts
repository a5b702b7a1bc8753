// The floor: the service's routes with nothing but Bun.serve and Bun's SQL client (no framework, no
// ORM, no logging), the same statements, the same JSON and the same response headers. What the service
// costs above this is the price of Elysia, Drizzle, validation and the guard. Validation is the honest minimum:
// without it the comparison would flatter the floor; with more it would be padded.
// Run by bench/run.ts as `bun bench/floor.ts` with PORT, DATABASE_URL and DB_POOL_MAX.
import { type BunRequest, SQL } from "bun";
import { decodeCursor, encodeCursor, filtersDigest } from "../src/todos/cursor";

const sql = new SQL({ url: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const todo = sql.unsafe(
  `id, title, description, is_completed, priority, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
   to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_at, user_id`,
);
const KEY = /^[\x21-\x7e]{1,255}$/;
const etagOf = (row: { id: string; version: number }) => `"${row.id}.${row.version}"`;
// What the service sends with an answer a browser may keep and must revalidate (src/http/preconditions.ts).
const revalidated = (etag: string) => ({ etag, "cache-control": "private, no-cache", vary: "Authorization, X-User-Id" });
/** A row with its version: the version goes in the ETag, not the body. */
const withEtag = (request: Request, { version, ...row }: { id: string; version: number; [column: string]: unknown }, status = 200) =>
  Response.json(row, { status, headers: apiHeaders(request, { etag: etagOf({ id: row.id, version }) }) });

// What every answer of the service carries (http/request-gate.ts, observability/request-log.ts): the same
// bytes on the wire, or the floor would be measured answering less than the API does.
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
const notFound = (request: Request) => problem(request, 404, "No todo with this id exists.");

type Body = Record<string, unknown>;
type Handler<Path extends string> = (request: BunRequest<Path>, userId: string) => Promise<Response>;

/** The handler, called only with a well-formed X-User-Id (and :id, where the path has one). */
function asCaller<Path extends string>(handler: Handler<Path>) {
  return (request: BunRequest<Path>) => {
    const userId = request.headers.get("x-user-id")?.trim();
    if (!userId || !UUID.test(userId)) return problem(request, 400, "X-User-Id must be a UUID.");
    const id = (request.params as { id?: string }).id;
    if (id !== undefined && !UUID.test(id)) return problem(request, 400, "The todo id must be a UUID.");
    return handler(request, userId.toLowerCase());
  };
}

async function jsonObject(request: Request): Promise<Body | undefined> {
  try {
    const body: unknown = await request.json();
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Body) : undefined;
  } catch {
    return undefined;
  }
}

const isOptionalText = (value: unknown) => value === undefined || value === null || typeof value === "string";

/** The fields a PATCH may set, or undefined when one has the wrong type or none is given. */
function changesOf(body: Body): Body | undefined {
  const { title, description, is_completed } = body;
  if (title === null || !isOptionalText(title) || !isOptionalText(description)) return undefined;
  if (is_completed !== undefined && typeof is_completed !== "boolean") return undefined;
  const changes = Object.fromEntries(Object.entries({ title, description, is_completed }).filter(([, value]) => value !== undefined));
  return Object.keys(changes).length > 0 ? changes : undefined;
}

// Every change below locks its user's row first, takes the user's next change position and keeps the row's
// count of todos, in the statement that makes it, as the service does (src/todos/store.ts): the lock makes one
// user's changes serial. The service's announcements of changes (one NOTIFY per batch of users) are its own
// cost, not the floor's: the spec does not ask for live updates.

// The service's keyed create, by hand: on the locked user row, claim the key, push out keys past the
// per-user cap and insert the todo in one statement, else replay. A user without a row (who never wrote)
// gets one, and the create is tried once more.
async function createWithKey(request: Request, userId: string, title: string, description: string | null, key: string): Promise<Response> {
  if (!KEY.test(key)) return problem(request, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters.");
  const hash = new Bun.CryptoHasher("sha256").update(JSON.stringify([title, description])).digest("hex");
  let record: { request_hash: string; todo_id: string; created_at: string } | undefined;
  for (let pass = 1; pass <= 2 && !record; pass++) {
    const [created] = await sql`
      with position as (select change_position + 1 as next, todo_count from users where id = ${userId} for update),
      claimed as (
        insert into idempotency_keys (user_id, key, request_hash, todo_id, created_at)
        select ${userId}, ${key}, ${hash}, gen_random_uuid(), now() from position where position.todo_count < 10000
        on conflict (user_id, key) do update set request_hash = excluded.request_hash, todo_id = excluded.todo_id, created_at = excluded.created_at
          where idempotency_keys.created_at < now() - interval '24 hours'
        returning todo_id),
      -- As the service: a user keeps at most 1,000 keys, the oldest pushed out.
      evicted as (delete from idempotency_keys where user_id = ${userId} and exists (select from position) and key = any(array(
        select key from idempotency_keys where user_id = ${userId} and created_at <= (
          select created_at from idempotency_keys where user_id = ${userId} order by created_at desc nulls last offset 999 limit 1)
          and key <> ${key}
        order by created_at asc nulls first limit 10))),
      made as (
        insert into todos (id, user_id, title, description, change_position)
        select todo_id, ${userId}, ${title}, ${description}, next from position, claimed
        returning ${todo}, version),
      advanced as (update users set change_position = change_position + 1, todo_count = todo_count + 1
        where id = ${userId} and exists (select from made))
      select * from made`;
    if (created) return withEtag(request, created, 201);
    [record] = await sql`
      select request_hash, todo_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at
      from idempotency_keys where user_id = ${userId} and key = ${key} and created_at >= now() - interval '24 hours'`;
    if (!record && pass === 1) await sql`insert into users (id) values (${userId}) on conflict do nothing`;
  }
  if (!record) return problem(request, 409, "You already have 10000 todos.");
  if (record.request_hash !== hash) return problem(request, 422, "This Idempotency-Key was used with another body.");
  const { todo_id: id, created_at } = record;
  return withEtag(
    request,
    { id, title, description, is_completed: false, priority: "Medium", created_at, updated_at: created_at, user_id: userId, version: 1 },
    201,
  );
}

Bun.serve({
  port: Number(process.env.PORT ?? 3000),
  routes: {
    "/api/v1/todos": {
      GET: asCaller(async (request, userId) => {
        const query = new URL(request.url).searchParams;
        const limit = Number(query.get("limit") ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200) return problem(request, 400, "limit must be an integer from 1 to 200.");
        const completed = query.get("completed");
        if (completed !== null && completed !== "true" && completed !== "false")
          return problem(request, 400, "completed must be true or false.");
        const cursor = query.get("cursor");
        const filters = { completed: completed === null ? undefined : completed === "true" };
        const digest = filtersDigest(filters);
        const decoded = cursor === null ? undefined : decodeCursor(cursor);
        if (cursor !== null && (decoded?.sort !== "created_at" || decoded.order !== "desc" || decoded.filters !== digest))
          return problem(request, 400, "cursor is not a cursor of this list.");
        const after = decoded?.position;
        // As the service: the total the filters match, the user's count when there is no filter.
        const total =
          completed === null
            ? sql`(select users.todo_count from users where users.id = ${userId})`
            : sql`(select count(*)::int from todos where todos.user_id = ${userId} and todos.is_completed = ${completed === "true"})`;
        // Qualified: a bare created_at here would be the to_char text above, which no index can order.
        const rows = await sql`select ${todo}, ${total} as total from todos where user_id = ${userId}
          ${completed === null ? sql`` : sql`and is_completed = ${completed === "true"}`}
          ${after ? sql`and (todos.created_at, todos.id) < (${after.at}::timestamptz, ${after.id}::uuid)` : sql``}
          order by todos.created_at desc, todos.id desc limit ${limit + 1}`;
        const items = rows.slice(0, limit).map(({ total: _, ...item }: Record<string, unknown>) => item);
        const last = items[limit - 1] as { id: string; created_at: string } | undefined;
        const next_cursor =
          rows.length > limit && last
            ? encodeCursor({ sort: "created_at", order: "desc", filters: digest, position: { id: last.id, at: last.created_at } })
            : null;
        const headers: Record<string, string> = {};
        if (next_cursor) {
          const next = new URLSearchParams({ limit: String(limit), ...(completed !== null && { completed }), cursor: next_cursor });
          headers.link = `</api/v1/todos?${next}>; rel="next"`;
        }
        // As the service: a strong ETag of the page's bytes, and a 304 when the client's copy is current.
        const page = JSON.stringify({ items, count: items.length, total: rows[0]?.total ?? 0, next_cursor });
        const etag = `"${Bun.hash(page).toString(36)}"`;
        if (request.headers.get("if-none-match") === etag)
          return new Response(null, { status: 304, headers: apiHeaders(request, { ...headers, ...revalidated(etag) }) });
        return new Response(page, {
          headers: apiHeaders(request, { ...headers, ...revalidated(etag), "content-type": "application/json" }),
        });
      }),
      POST: asCaller(async (request, userId) => {
        const body = await jsonObject(request);
        if (typeof body?.title !== "string" || !isOptionalText(body.description)) {
          return problem(request, 422, "The body must be a JSON object with a string title and an optional string description.");
        }
        const key = request.headers.get("idempotency-key");
        if (key !== null) return createWithKey(request, userId, body.title, (body.description as string | null | undefined) ?? null, key);
        // One statement, as the service's: the user's row made or locked, counting the todo against the
        // service's default MAX_TODOS_PER_USER and taking the next change position, then the todo at it.
        const [created] = await sql`
          with counted as (
            insert into users (id, change_position, todo_count) values (${userId}, 1, 1)
            on conflict (id) do update set change_position = users.change_position + 1, todo_count = users.todo_count + 1
              where users.todo_count < 10000
            returning change_position as next)
          insert into todos (user_id, title, description, change_position)
          select ${userId}, ${body.title}, ${body.description ?? null}, next from counted
          returning ${todo}, version`;
        if (!created) return problem(request, 409, "You already have 10000 todos.");
        return withEtag(request, created, 201);
      }),
    },
    "/api/v1/todos/:id": {
      GET: asCaller(async (request, userId) => {
        const { id } = request.params;
        // As the service: a client with a copy is asked about its version first.
        const ifNoneMatch = request.headers.get("if-none-match");
        if (ifNoneMatch !== null) {
          const [current] = await sql`select version from todos where user_id = ${userId} and id = ${id}`;
          if (!current) return notFound(request);
          const etag = etagOf({ id: id.toLowerCase(), version: current.version });
          if (ifNoneMatch === etag) return new Response(null, { status: 304, headers: apiHeaders(request, revalidated(etag)) });
        }
        const [found] = await sql`select ${todo}, version from todos where user_id = ${userId} and id = ${id}`;
        if (!found) return notFound(request);
        const { version, ...row } = found;
        return Response.json(row, { headers: apiHeaders(request, revalidated(etagOf({ id: row.id, version }))) });
      }),
      PATCH: asCaller(async (request, userId) => {
        const body = await jsonObject(request);
        const changes = body && changesOf(body);
        if (!changes) return problem(request, 422, "The body must set title, description or is_completed.");
        const [updated] = await sql`
          with position as (select change_position + 1 as next from users where id = ${userId} for update),
          changed as (
            update todos set ${sql(changes)}, version = version + 1, updated_at = now(), change_position = (select next from position)
            where user_id = ${userId} and id = ${request.params.id} returning ${todo}, version),
          advanced as (update users set change_position = change_position + 1 where id = ${userId} and exists (select from changed))
          select * from changed`;
        return updated ? withEtag(request, updated) : notFound(request);
      }),
      DELETE: asCaller(async (request, userId) => {
        // As the service: a tombstone at the user's next position; a user who already has 10,000 forgets the oldest.
        const deleted = await sql`
          with position as (select change_position + 1 as next, tombstone_count from users where id = ${userId} for update),
          removed as (delete from todos where user_id = ${userId} and id = ${request.params.id} and exists (select from position) returning id),
          buried as (insert into todo_tombstones (user_id, todo_id, change_position) select ${userId}, removed.id, next from removed, position),
          forgotten as (delete from todo_tombstones
            where user_id = ${userId} and exists (select from removed) and (select tombstone_count from position) >= 10000
              and change_position <= (select change_position from todo_tombstones where user_id = ${userId}
                order by change_position desc offset 9999 limit 1)
            returning change_position),
          advanced as (update users set change_position = change_position + 1, todo_count = todo_count - (select count(*) from removed)::int,
              tombstone_count = tombstone_count + (select count(*) from removed)::int - (select count(*) from forgotten)::int,
              forgotten_through = greatest(forgotten_through, coalesce((select max(change_position) from forgotten), 0))
            where id = ${userId} and exists (select from removed))
          select id from removed`;
        return deleted.length > 0 ? new Response(null, { status: 204, headers: apiHeaders(request) }) : notFound(request);
      }),
    },
  },
  fetch: (request) => problem(request, 404, "No such route."),
  error: () => Response.json({ status: 500, detail: "The server failed." }, { status: 500 }),
});
