// GET /api/{user_id}/tasks with the todo-app's own list parameters and meanings.
import { expect, test } from "bun:test";
import { newUserId, subjectOf, testClient } from "../support/api";

const api = testClient();
type Task = { id: string; title: string; priority: string; is_completed: boolean };

async function userWithTasks() {
  const user = newUserId();
  const path = `/api/${subjectOf(user)}/tasks`;
  const specs = [
    { title: "walk the dog", priority: "Low" },
    { title: "Buy milk", priority: "High", description: "two litres" },
    { title: "call mum", priority: "Medium" },
    { title: "pay rent", priority: "High" },
  ];
  const made: Task[] = [];
  for (const body of specs) {
    made.push((await api.call("POST", path, { user, body })).json);
    // Times are kept to the millisecond, and todos made in the same one are ordered by id (test/db/timestamps):
    // the orders asserted here need each task made in a millisecond of its own.
    await Bun.sleep(2);
  }
  await api.call("PATCH", `${path}/${made[2]?.id}/complete`, { user });
  const list = async (query = "") => {
    const reply = await api.call("GET", `${path}${query && `?${query}`}`, { user });
    expect(reply.status).toBe(200);
    return reply.json as { items: Task[]; count: number };
  };
  return { user, path, list };
}

const titles = (tasks: Task[]) => tasks.map((task) => task.title);

test("without parameters: every task, newest first, count all of them", async () => {
  const { list } = await userWithTasks();
  const all = await list();
  expect(titles(all.items)).toEqual(["pay rent", "call mum", "Buy milk", "walk the dog"]);
  expect(all.count).toBe(4);
});

test("status, priority and search filter; count is every match, also when a page shows fewer", async () => {
  const { list } = await userWithTasks();
  expect(titles((await list("status=completed")).items)).toEqual(["call mum"]);
  expect(titles((await list("status=pending")).items)).toEqual(["pay rent", "Buy milk", "walk the dog"]);
  expect((await list("status=all")).count).toBe(4);
  expect(titles((await list("priority=High")).items)).toEqual(["pay rent", "Buy milk"]);
  expect(titles((await list("search=LITRES")).items)).toEqual(["Buy milk"]);
  // A search box left blank searches nothing, as the todo-app's own backend does.
  expect((await list("search=%20%20")).count).toBe(4);
  expect(await list("priority=High&page=2&page_size=1")).toEqual({ items: [expect.objectContaining({ title: "Buy milk" })], count: 2 });
});

test("sort_by and sort_order; page and page_size walk the pages", async () => {
  const { list } = await userWithTasks();
  expect(titles((await list("sort_by=title&sort_order=asc")).items)).toEqual(["Buy milk", "call mum", "pay rent", "walk the dog"]);
  // Descending, the default, is High first (each priority newest first); ascending is Low first.
  expect(titles((await list("sort_by=priority")).items)).toEqual(["pay rent", "Buy milk", "call mum", "walk the dog"]);
  expect(titles((await list("sort_by=priority&sort_order=desc")).items)).toEqual(["pay rent", "Buy milk", "call mum", "walk the dog"]);
  expect(titles((await list("sort_by=priority&sort_order=asc")).items)).toEqual(["walk the dog", "call mum", "Buy milk", "pay rent"]);
  expect(titles((await list("sort_by=created_at&sort_order=asc")).items)).toEqual(["walk the dog", "Buy milk", "call mum", "pay rent"]);
  const pages = [];
  for (let page = 1; page <= 3; page++) pages.push(titles((await list(`page=${page}&page_size=2`)).items));
  expect(pages).toEqual([["pay rent", "call mum"], ["Buy milk", "walk the dog"], []]);
});

test("a bad parameter is 400 naming it", async () => {
  const { user, path } = await userWithTasks();
  for (const [query, field] of [
    ["status=done", "status"],
    ["priority=Urgent", "priority"],
    ["sort_by=due_date", "sort_by"],
    ["sort_order=up", "sort_order"],
    ["page=0", "page"],
    ["page_size=201", "page_size"],
    ["search=%0a", "search"],
    ["colour=red", "colour"],
  ]) {
    const reply = await api.call("GET", `${path}?${query}`, { user });
    expect([query, reply.status]).toEqual([query, 400]);
    expect(reply.json.field_errors.map((error: { field: string }) => error.field)).toContain(field);
  }
});
