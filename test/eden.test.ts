// A TypeScript front end calls the service through Eden Treaty with the exported App type, the way
// clients/web does: strings stay strings, and every documented error is a typed problem document.
import { afterAll, expect, test } from "bun:test";
import { addTodo, completeTodo, deleteTodo, firstPage, openTodo, todoApi } from "../clients/web/src";
import { createApp } from "../src/app";
import { newUserId, sharedDatabase } from "./support/api";

const server = createApp(sharedDatabase()).listen({ port: 0, hostname: "127.0.0.1" });
afterAll(() => server.stop());
const clientFor = (user: string) => todoApi(`http://127.0.0.1:${server.server?.port}`, () => ({ "x-user-id": user }));

test("Eden Treaty creates, lists, updates and deletes with typed calls", async () => {
  const api = clientFor(newUserId());
  const created = await api.api.v1.todos.post({ title: "via eden", description: null });
  expect(created.status).toBe(201);
  expect(created.response?.headers.get("location")).toBe(`/api/v1/todos/${created.data?.id}`);
  const id = created.data?.id ?? "";

  const listed = await api.api.v1.todos.get();
  expect(listed.data?.items.map((todo) => todo.title)).toEqual(["via eden"]);
  const page = await api.api.v1.todos.get({ query: { limit: 1, completed: false } });
  expect(page.data?.next_cursor).toBeNull();
  expect(page.data?.count).toBe(1);

  const updated = await api.api.v1.todos({ id }).patch({ is_completed: true });
  expect(updated.data?.is_completed).toBe(true);

  expect((await api.api.v1.todos({ id }).delete()).status).toBe(204);
  const gone = await api.api.v1.todos({ id }).get();
  // Typed: Eden knows a 404 is a problem document with an error_code.
  if (gone.error?.status !== 404) throw new Error(`expected a 404, got ${gone.status}`);
  expect(gone.error.value.error_code).toBe("NOT_FOUND");
});

test("strings stay strings: a date-looking title and created_at arrive as the API sent them", async () => {
  const api = clientFor(newUserId());
  const { data } = await api.api.v1.todos.post({ title: "2026-12-01", description: "2026-12-01T10:00:00.000Z" });
  expect(typeof data?.title).toBe("string");
  expect(data?.title).toBe("2026-12-01");
  expect(data?.description).toBe("2026-12-01T10:00:00.000Z");
  const createdAt: string | undefined = data?.created_at;
  expect(createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const listed = await api.api.v1.todos.get();
  expect(typeof listed.data?.items[0]?.created_at).toBe("string");
});

test("a validation error is typed with its field codes and limits", async () => {
  const api = clientFor(newUserId());
  const refused = await api.api.v1.todos.post({ title: "t".repeat(256) });
  if (refused.error?.status !== 422) throw new Error(`expected a 422, got ${refused.status}`);
  expect(refused.error.value.field_errors).toEqual([
    { field: "title", code: "too_long", message: "must be at most 255 characters", limit: 255 },
  ]);
});

test("the client package's calls: each answer, or the problem's error_code and field codes", async () => {
  const api = clientFor(newUserId());
  const added = await addTodo(api, "Buy milk");
  if (!added.ok) throw new Error(added.errorCode);
  expect((await firstPage(api, false)).ok).toBe(true);
  expect(await completeTodo(api, added.value.id)).toMatchObject({ ok: true, value: { is_completed: true } });
  expect(await deleteTodo(api, added.value.id)).toEqual({ ok: true, value: null });
  expect(await openTodo(api, added.value.id)).toEqual({ ok: false, status: 404, errorCode: "NOT_FOUND", fields: {} });
  expect(await addTodo(api, "")).toEqual({ ok: false, status: 422, errorCode: "VALIDATION_ERROR", fields: { title: "too_short" } });
});
