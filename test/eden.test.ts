// A TypeScript front end can call the service through Eden Treaty with the exported App type.
import { expect, test } from "bun:test";
import { treaty } from "@elysiajs/eden";
import { createApp } from "../src/app";
import { newUserId, sharedDatabase } from "./support/api";

const client = treaty(createApp(sharedDatabase()));

test("Eden Treaty creates, lists, updates and deletes with typed calls", async () => {
  const headers = { "x-user-id": newUserId() };
  const created = await client.api.v1.todos.post({ title: "via eden", description: null }, { headers });
  expect(created.status).toBe(201);
  const id = created.data?.id ?? "";

  const listed = await client.api.v1.todos.get({ headers });
  expect(listed.data?.items.map((todo) => todo.title)).toEqual(["via eden"]);
  const page = await client.api.v1.todos.get({ headers, query: { limit: "1", completed: "false" } });
  expect(page.data?.next_cursor).toBeNull();
  expect(page.data?.count).toBe(1);

  const updated = await client.api.v1.todos({ id }).patch({ is_completed: true }, { headers });
  expect(updated.data?.is_completed).toBe(true);

  expect((await client.api.v1.todos({ id }).delete(undefined, { headers })).status).toBe(204);
  const gone = await client.api.v1.todos({ id }).get({ headers });
  expect(gone.status).toBe(404);
  expect(gone.error?.value).toMatchObject({ error_code: "NOT_FOUND" });
});
