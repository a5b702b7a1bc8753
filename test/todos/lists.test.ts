// The list in every order, searched and filtered, with its total; and bulk changes through the same filters.
import { describe, expect, test } from "bun:test";
import type { Todo } from "../../src/todos/model";
import { newUserId, testClient } from "../support/api";

const api = testClient();
type Page = { items: Todo[]; count: number; total: number; next_cursor: string | null };

const create = async (user: string, body: { title: string; description?: string; priority?: string }) => {
  const reply = await api.create(user, body);
  expect(reply.status).toBe(201);
  return reply.json as Todo;
};

/** Every page of a list, following next_cursor with the same query. */
async function walk(user: string, query: string, limit = 2): Promise<{ items: Todo[]; totals: number[] }> {
  const items: Todo[] = [];
  const totals: number[] = [];
  let cursor: string | null = null;
  do {
    const reply = await api.list(user, `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(reply.status).toBe(200);
    const page = reply.json as Page;
    items.push(...page.items);
    totals.push(page.total);
    cursor = page.next_cursor;
  } while (cursor);
  return { items, totals };
}

const titles = (todos: Todo[]) => todos.map((todo) => todo.title);
const rank = { High: 0, Medium: 1, Low: 2 } as const;
const newestFirst = (a: Todo, b: Todo) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);

/** A user with todos of every priority, titles in mixed case, one completed, made one after another. */
async function seeded() {
  const user = newUserId();
  const made: Todo[] = [];
  const specs = [
    { title: "banana", priority: "Low" },
    { title: "Apple", priority: "High", description: "red or green" },
    { title: "cherry", priority: "Medium" },
    { title: "apple pie", priority: "High" },
    { title: "Date", priority: "Low", description: "100% dates_only \\ really" },
    { title: "elderberry", priority: "Medium" },
  ];
  for (const spec of specs) made.push(await create(user, spec));
  const done = made[2] as Todo;
  made[2] = (await api.update(user, done.id, { is_completed: true })).json;
  return { user, made };
}

describe("the list's orders", () => {
  test("every sort and order pages through every todo once, in its order, with the total on every page", async () => {
    const { user, made } = await seeded();
    const byTitle = [...made].sort((a, b) => a.title.toLowerCase().localeCompare(b.title.toLowerCase()) || a.id.localeCompare(b.id));
    const byPriority = [...made].sort((a, b) => rank[a.priority] - rank[b.priority] || newestFirst(a, b));
    const byUpdate = [...made].sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.id.localeCompare(a.id));
    const expected: Record<string, Todo[]> = {
      "sort=created_at": [...made].sort(newestFirst),
      "sort=updated_at": byUpdate,
      "sort=title": byTitle,
      "sort=priority": byPriority,
    };
    for (const [query, order] of Object.entries(expected)) {
      const { items, totals } = await walk(user, query);
      expect([query, titles(items)]).toEqual([query, titles(order)]);
      expect(totals.every((total) => total === made.length)).toBe(true);
      const reversed = await walk(user, `${query}&order=${query.includes("title") || query.includes("priority") ? "desc" : "asc"}`);
      expect([query, titles(reversed.items)]).toEqual([query, titles([...order].reverse())]);
    }
  });

  test("a cursor belongs to its list: with another sort, order or filter it is 400 naming cursor", async () => {
    const { user } = await seeded();
    const { json } = await api.list(user, "sort=title&limit=2");
    for (const other of [
      "sort=created_at",
      "sort=title&order=desc",
      "sort=title&completed=false",
      "sort=title&q=a",
      "sort=title&priority=High",
    ]) {
      const reply = await api.list(user, `${other}&limit=2&cursor=${json.next_cursor}`);
      expect([other, reply.status]).toEqual([other, 400]);
      expect(reply.json.field_errors).toEqual([expect.objectContaining({ field: "cursor" })]);
    }
    // The same filters spelt another way are the same list.
    const { json: filtered } = await api.list(user, "priority=High,Low&limit=1");
    expect((await api.list(user, `priority=Low,High&limit=1&cursor=${filtered.next_cursor}`)).status).toBe(200);
  });

  test("the Link header names the next page with the same sort, order and filters", async () => {
    const { user } = await seeded();
    const reply = await api.list(user, "sort=priority&order=desc&priority=High,Low&q=a&limit=1");
    const link = reply.headers.get("link") as string;
    const next = new URLSearchParams(/<[^?]*\?([^>]*)>/.exec(link)?.[1]);
    expect(Object.fromEntries(next)).toEqual({
      limit: "1",
      sort: "priority",
      order: "desc",
      priority: "High,Low",
      q: "a",
      cursor: reply.json.next_cursor,
    });
  });
});

describe("search and filters", () => {
  test("q matches title or description, case-insensitively; %, _ and \\ match themselves", async () => {
    const { user } = await seeded();
    const found = async (q: string) => titles((await walk(user, `q=${encodeURIComponent(q)}`, 50)).items).sort();
    expect(await found("APPLE")).toEqual(["Apple", "apple pie"]);
    expect(await found("green")).toEqual(["Apple"]);
    expect(await found("%")).toEqual(["Date"]);
    expect(await found("_")).toEqual(["Date"]);
    expect(await found("\\")).toEqual(["Date"]);
    expect(await found("a%d")).toEqual([]);
    // Never across title and description: "Apple" + "red" is not "e red".
    expect(await found("e red")).toEqual([]);
  });

  test("completed and priority filter, alone or together with q, and total counts every match", async () => {
    const { user } = await seeded();
    const { json } = await api.list(user, "priority=High,Medium&completed=false&limit=1");
    expect(json.total).toBe(3);
    expect(json.count).toBe(1);
    expect((await api.list(user, "completed=true")).json.total).toBe(1);
    expect((await api.list(user, "q=apple&priority=Low")).json).toMatchObject({ items: [], total: 0 });
  });

  test("a bad sort, order, priority or q is 400 naming it", async () => {
    const user = newUserId();
    for (const [query, field] of [
      ["sort=colour", "sort"],
      ["order=up", "order"],
      ["priority=Urgent", "priority"],
      ["priority=High,", "priority"],
      ["q=", "q"],
      [`q=${"x".repeat(101)}`, "q"],
      ["q=%0a", "q"],
    ]) {
      const reply = await api.list(user, query as string);
      expect([query, reply.status]).toEqual([query, 400]);
      expect(reply.json.field_errors.map((error: { field: string }) => error.field)).toContain(field);
    }
  });
});

describe("bulk changes", () => {
  test("PATCH with filters changes exactly the matching todos, each to a new version, and says how many", async () => {
    const { user, made } = await seeded();
    const before = (await api.get(user, (made[1] as Todo).id)).headers.get("etag");
    const reply = await api.call("PATCH", "/api/v1/todos?priority=High", { user, body: { is_completed: true } });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ count: 2 });
    const { items } = await walk(user, "completed=true", 50);
    expect(titles(items).sort()).toEqual(["Apple", "apple pie", "cherry"]);
    expect((await api.get(user, (made[1] as Todo).id)).headers.get("etag")).not.toBe(before);
  });

  test("DELETE completed=true clears the completed todos only; the changes reach the feed as deletes", async () => {
    const { user } = await seeded();
    const { next_since } = (await api.call("GET", "/api/v1/todos/changes", { user })).json;
    const reply = await api.call("DELETE", "/api/v1/todos?completed=true", { user });
    expect(reply.json).toEqual({ count: 1 });
    expect((await api.list(user)).json.total).toBe(5);
    const feed = (await api.call("GET", `/api/v1/todos/changes?since=${next_since}`, { user })).json;
    expect(feed.changes).toEqual([{ type: "delete", id: expect.any(String) }]);
  });

  test("without a filter, all=true is required; all=true with a filter is refused; nothing changes either way", async () => {
    const { user } = await seeded();
    for (const [method, query, field] of [
      ["PATCH", "", "all"],
      ["DELETE", "", "all"],
      ["DELETE", "?all=false", "all"],
      ["DELETE", "?all=true&completed=true", "all"],
      ["DELETE", "?colour=red", "colour"],
    ]) {
      const reply = await api.call(method as string, `/api/v1/todos${query}`, {
        user,
        body: method === "PATCH" ? { is_completed: true } : undefined,
      });
      expect([method, query, reply.status]).toEqual([method, query, 400]);
      expect(reply.json.field_errors.map((error: { field: string }) => error.field)).toContain(field);
    }
    expect((await api.list(user, "completed=true")).json.total).toBe(1);
    expect((await api.call("DELETE", "/api/v1/todos?all=true", { user })).json).toEqual({ count: 6 });
    expect((await api.list(user)).json).toMatchObject({ items: [], total: 0 });
  });

  test("a bulk change reaches only the caller's todos", async () => {
    const [alice, bob] = [newUserId(), newUserId()];
    await create(alice, { title: "alice's" });
    const bobs = await create(bob, { title: "bob's" });
    expect((await api.call("PATCH", "/api/v1/todos?all=true", { user: alice, body: { title: "mine now" } })).json).toEqual({ count: 1 });
    expect((await api.call("DELETE", "/api/v1/todos?all=true", { user: alice })).json).toEqual({ count: 1 });
    expect((await api.get(bob, bobs.id)).json).toEqual(bobs);
  });
});
