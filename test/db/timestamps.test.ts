// created_at must come back as the exact instant stored, in UTC, whatever the driver and
// whatever the database session's time zone (the server test database is not in UTC).
import { expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { queryRows } from "../support/database";

const api = testClient();
const { db } = sharedDatabase().database;

async function insertAt(user: string, title: string, createdAt: string, id = crypto.randomUUID()) {
  // The user's row counts the todo and gives it the next change position, as a create through the API would.
  await db.execute(sql`with counted as (
      insert into users (id, change_position, todo_count) values (${user}, 1, 1)
      on conflict (id) do update set change_position = users.change_position + 1, todo_count = users.todo_count + 1
      returning change_position)
    insert into todos (id, user_id, title, created_at, change_position)
    select ${id}, ${user}, ${title}, ${createdAt}::timestamptz, change_position from counted`);
  return id;
}

test("created_at is the stored instant, to the millisecond, in UTC", async () => {
  const user = newUserId();
  const id = await insertAt(user, "half past", "2024-03-10 01:02:03.456+05:30");
  const { json } = await api.get(user, id);
  expect(json.created_at).toBe("2024-03-09T19:32:03.456Z");
  expect(new Date(json.created_at).getTime()).toBe(Date.UTC(2024, 2, 9, 19, 32, 3, 456));
});

test("a new todo's created_at equals the database's own record of it", async () => {
  const user = newUserId();
  const { json } = await api.create(user, { title: "now" });
  const stored = await queryRows<{ epoch_ms: string }>(
    db,
    sql`select (extract(epoch from created_at) * 1000)::bigint::text as epoch_ms from todos where id = ${json.id}`,
  );
  expect(new Date(json.created_at).getTime()).toBe(Number(stored[0]?.epoch_ms));
});

test("todos created in the same millisecond are listed by id, descending", async () => {
  const user = newUserId();
  const at = "2025-01-01 00:00:00.000+00";
  const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  for (const id of ids) await insertAt(user, id, at, id);
  await insertAt(user, "older", "2024-12-31 23:59:59.999+00");
  const { json } = await api.list(user);
  expect(json.items.map((t: { id: string }) => t.id)).toEqual([...ids.sort().reverse(), expect.any(String)]);
  expect(json.items[3].title).toBe("older");
});
