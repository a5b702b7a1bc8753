// The list's paging contract: bounded pages, an opaque cursor that is only a position, the
// completed filter, the Link header, and a walk that stays exact while the list changes under it.
import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { encodeCursor, filtersDigest } from "../../src/todos/cursor";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { queryRows } from "../support/database";

const api = testClient();
const { db } = sharedDatabase().database;

type Todo = { id: string; title: string; is_completed: boolean; created_at: string; updated_at: string; user_id: string };

const newestFirst = (a: Pick<Todo, "created_at" | "id">, b: Pick<Todo, "created_at" | "id">) =>
  b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);

/**
 * Seeds `count` todos by SQL (fast, and with chosen instants): three share each millisecond, so
 * the id tie-break is exercised on every page; every fifth is completed.
 */
async function seed(user: string, count: number): Promise<Todo[]> {
  await db.execute(sql`insert into users (id, change_position, todo_count) values (${user}, ${count}, ${count}) on conflict do nothing`);
  return queryRows<Todo>(
    db,
    sql`insert into todos (user_id, title, is_completed, created_at, updated_at, change_position)
        select ${user}::uuid, 'seeded ' || i, i % 5 = 0, at, at, i
        from generate_series(1, ${count}::int) as i,
          lateral (select timestamptz '2025-06-01 12:00:00.000+00' - make_interval(secs => (i / 3) / 1000.0) as at) as seeded
        returning id, title, is_completed, priority,
          to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
          to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as updated_at, user_id`,
  );
}

/** Every page, following next_cursor; checks each page's own invariants on the way. */
async function walk(user: string, query: string, between: () => Promise<void> = async () => {}) {
  const seen: Todo[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const { status, json, headers } = await api.list(user, [query, cursor && `cursor=${cursor}`].filter(Boolean).join("&"));
    expect(status).toBe(200);
    expect(json.count).toBe(json.items.length);
    expect(headers.has("link")).toBe(json.next_cursor !== null);
    seen.push(...json.items);
    cursor = json.next_cursor;
    pages++;
    if (cursor) await between();
  } while (cursor);
  return { seen, pages };
}

const expectValidationError = (reply: { status: number; json: { error_code: string; field_errors: unknown } }, field: string) => {
  expect(reply.status).toBe(400);
  expect(reply.json.error_code).toBe("VALIDATION_ERROR");
  expect(reply.json.field_errors).toEqual([expect.objectContaining({ field, message: expect.any(String) })]);
};

describe("page size", () => {
  test("50 by default, then next_cursor leads on to the rest", async () => {
    const user = newUserId();
    const todos = (await seed(user, 51)).sort(newestFirst);
    const first = await api.list(user);
    expect(first.json.count).toBe(50);
    expect(first.json.items).toEqual(todos.slice(0, 50).map((todo) => ({ ...todo, description: null })));
    expect(first.json.next_cursor).toBeString();
    const last = await api.list(user, `cursor=${first.json.next_cursor}`);
    expect(last.json).toEqual({ items: [{ ...todos[50], description: null }], count: 1, total: 51, next_cursor: null });
    expect(last.headers.get("link")).toBeNull();
  });

  test("limit=200 is the largest page; a page that is exactly the rest has no next", async () => {
    const user = newUserId();
    await seed(user, 200);
    const { json } = await api.list(user, "limit=200");
    expect(json.count).toBe(200);
    expect(json.next_cursor).toBeNull();
    expect((await api.list(user, "limit=1")).json.count).toBe(1);
  });

  test.each(["0", "201", "-1", "abc", "5.5", "", "1e2", "0x10", " 5", "+5", "05", "9999999999999999999"])(
    "limit=%p is 400 naming limit",
    async (limit) => {
      expectValidationError(await api.list(newUserId(), `limit=${encodeURIComponent(limit)}`), "limit");
    },
  );
});

describe("the completed filter", () => {
  test("true gives completed todos only, false open ones only, absent both; each pages on its own index", async () => {
    const user = newUserId();
    const todos = (await seed(user, 40)).sort(newestFirst);
    for (const [query, expected] of [
      ["completed=true&limit=3", todos.filter((todo) => todo.is_completed)],
      ["completed=false&limit=3", todos.filter((todo) => !todo.is_completed)],
      ["limit=3", todos],
    ] as const) {
      const { seen } = await walk(user, query);
      expect(seen.map((todo) => todo.id)).toEqual(expected.map((todo) => todo.id));
    }
  });

  test.each(["TRUE", "1", "yes", "", "null"])("completed=%p is 400 naming completed", async (value) => {
    expectValidationError(await api.list(newUserId(), `completed=${value}`), "completed");
  });

  test("each bad parameter is named", async () => {
    const { status, json } = await api.list(newUserId(), "limit=0&completed=maybe&cursor=x&colour=red");
    expect(status).toBe(400);
    expect(json.field_errors.map((error: { field: string }) => error.field).sort()).toEqual(["colour", "completed", "cursor", "limit"]);
  });
});

/** A cursor of the default list (newest first, no filter) at this position. */
const cursorAt = ({ created_at, id }: { created_at: string; id: string }) =>
  encodeCursor({ sort: "created_at", order: "desc", filters: filtersDigest({}), position: { id, at: created_at } });

describe("the cursor", () => {
  const aCursor = cursorAt({ created_at: "2025-06-01T12:00:00.000Z", id: "3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b" });

  test.each([
    ["not base64url", "!!!!"],
    ["truncated", aCursor.slice(0, -1)],
    ["one character too many", `${aCursor}AA`],
    ["padded", `${aCursor}==`],
    ["another version", `B${aCursor.slice(1)}`],
    ["a non-canonical last character", aCursor.slice(0, -1) + String.fromCharCode(aCursor.charCodeAt(aCursor.length - 1) + 1)],
    [
      "a date Postgres cannot take back",
      cursorAt({ created_at: "+010000-01-01T00:00:00.000Z", id: "3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b" }),
    ],
    ["empty", ""],
    ["a todo id", "3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b"],
  ])("%s is 400 naming cursor", async (_, cursor) => {
    expectValidationError(await api.list(newUserId(), `cursor=${encodeURIComponent(cursor)}`), "cursor");
  });

  test("any text is a page or a 400 on cursor, never a 500", async () => {
    const user = newUserId();
    await seed(user, 3);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          // One character changed in a real cursor: the near misses a tamperer would try.
          fc
            .tuple(fc.nat(aCursor.length - 1), fc.constantFrom(..."ABCXYZabcxyz0189-_"))
            .map(([at, c]) => aCursor.slice(0, at) + c + aCursor.slice(at + 1)),
        ),
        async (cursor) => {
          const reply = await api.list(user, `cursor=${encodeURIComponent(cursor)}`);
          if (reply.status === 400)
            expect(reply.json.field_errors).toEqual([expect.objectContaining({ field: "cursor", message: expect.any(String) })]);
          else expect(reply.status).toBe(200);
        },
      ),
      { numRuns: 150 },
    );
  });

  test("a forged position only moves where the page starts: it holds the caller's own older todos", async () => {
    const user = newUserId();
    const todos = (await seed(user, 10)).sort(newestFirst);
    const pivot = todos[4] as Todo;
    const { json } = await api.list(user, `cursor=${cursorAt(pivot)}`);
    expect(json.items.map((todo: Todo) => todo.id)).toEqual(todos.slice(5).map((todo) => todo.id));
    const beforeAll = cursorAt({ created_at: "9999-12-31T23:59:59.999Z", id: "ffffffff-ffff-ffff-ffff-ffffffffffff" });
    expect((await api.list(user, `cursor=${beforeAll}`)).json.count).toBe(10);
  });

  test("another user's cursor gives nothing of theirs", async () => {
    const victim = newUserId();
    const intruder = newUserId();
    const victims = await seed(victim, 30);
    const intruders = await seed(intruder, 30);
    const { json } = await api.list(victim, "limit=5");
    const stolen = await walk(intruder, `limit=5&cursor=${json.next_cursor}`);
    const victimIds = new Set(victims.map((todo) => todo.id));
    expect(stolen.seen.length).toBeGreaterThan(0);
    expect(stolen.seen.every((todo) => todo.user_id === intruder && !victimIds.has(todo.id))).toBe(true);
    // Only a position: the intruder's own todos older than it, as from any other cursor at that instant.
    const position = (json.items as Todo[]).at(-1) as Todo;
    const older = intruders.filter((todo) => newestFirst(todo, position) > 0).sort(newestFirst);
    expect(stolen.seen.map((todo) => todo.id)).toEqual(older.map((todo) => todo.id));
  });
});

describe("the Link header", () => {
  test("names the next page relative to this path, with the same limit and filter, and leads where next_cursor does", async () => {
    const user = newUserId();
    await seed(user, 20);
    const { json, headers } = await api.list(user, "completed=false&limit=4");
    const link = headers.get("link") ?? "";
    expect(link).toMatch(/^<\/api\/v1\/todos\?[^>]+>; rel="next"$/);
    const next = new URL(link.slice(1, link.indexOf(">")), "http://localhost");
    expect(Object.fromEntries(next.searchParams)).toEqual({ limit: "4", completed: "false", cursor: json.next_cursor });
    const followed = await api.call("GET", `${next.pathname}${next.search}`, { user });
    expect(followed.json).toEqual((await api.list(user, `completed=false&limit=4&cursor=${json.next_cursor}`)).json);
  });

  test("does not echo the Host header", async () => {
    const user = newUserId();
    await seed(user, 2);
    const { headers } = await api.call("GET", "/api/v1/todos?limit=1", { user, headers: { host: "evil.example" } });
    expect(headers.get("link")).not.toContain("evil");
  });
});

describe("walking every page while the list changes", () => {
  test("1,000 todos in pages of 7, with creates, completions and deletes between pages: each survivor exactly once, in order", async () => {
    const user = newUserId();
    const model = new Map((await seed(user, 1000)).map((todo) => [todo.id, todo]));
    const deleted = new Set<string>();
    const createdDuringWalk = new Set<string>();
    let step = 0;
    const pick = () => [...model.keys()][(step * 7919) % model.size] as string;

    const { seen, pages } = await walk(user, "limit=7", async () => {
      step++;
      const created = await api.create(user, { title: `during the walk ${step}` });
      createdDuringWalk.add(created.json.id);
      model.set(created.json.id, created.json);
      const toComplete = pick();
      const completed = await api.update(user, toComplete, { is_completed: true });
      model.set(toComplete, completed.json);
      if (step % 2 === 0) {
        const toDelete = pick();
        expect((await api.remove(user, toDelete)).status).toBe(204);
        model.delete(toDelete);
        deleted.add(toDelete);
      }
    });

    expect(pages).toBeGreaterThanOrEqual(Math.ceil((1000 - deleted.size) / 7));
    // In order, no repeats, nothing deleted before it was reached, nothing of anyone else.
    const ids = seen.map((todo) => todo.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...seen].sort(newestFirst)).toEqual(seen);
    expect(seen.every((todo) => todo.user_id === user)).toBe(true);
    // Every todo that existed throughout the walk, exactly once.
    const survivors = [...model.values()].filter((todo) => !createdDuringWalk.has(todo.id)).sort(newestFirst);
    const seenIds = new Set(ids);
    expect(survivors.filter((todo) => !seenIds.has(todo.id))).toEqual([]);
    expect(ids.filter((id) => !createdDuringWalk.has(id) && !model.has(id)).every((id) => deleted.has(id))).toBe(true);
  }, 120_000);
});
