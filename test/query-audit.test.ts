// The audit itself must be able to fail: it is only evidence if it catches what it claims to.
import { describe, expect, test } from "bun:test";
import { newUserId, testClient } from "./support/api";
import { audit, scopeProblem } from "./support/query-audit";

const me = "11111111-1111-4111-8111-111111111111";
const other = "22222222-2222-4222-8222-222222222222";

describe("the query audit flags", () => {
  test.each([
    ["a read with no WHERE", 'select "id" from "todos"', []],
    ["a read scoped by id only", 'select "id" from "todos" where "todos"."id" = $1', [other]],
    ["a predicate bound to another user", 'select "id" from "todos" where ("todos"."user_id" = $1 and "todos"."id" = $2)', [other, me]],
    ["an OR that widens the predicate", 'delete from "todos" where ("todos"."user_id" = $1 or "todos"."id" = $2)', [me, other]],
    ["an update of every row", 'update "todos" set "title" = $1', ["x"]],
    ["an insert for someone else", 'insert into "todos" ("id", "user_id", "title") values (default, $1, $2)', [other, "x"]],
    ["a new user other than the caller", 'insert into "users" ("id") values ($1) on conflict do nothing', [other]],
    ["another user's row locked", 'select "change_position" from "users" where "users"."id" = $1 for update', [other]],
    ["a user row changed by no id", 'update "users" set "todo_count" = "users"."todo_count" + 1', []],
    ["a tombstone of another user", 'select "todo_id" from "todo_tombstones" where "todo_tombstones"."user_id" = $1', [other]],
    [
      "a tombstone for someone else",
      'insert into "todo_tombstones" ("user_id", "todo_id") select $1::uuid as "user_id", "id" as "todo_id" from "removed"',
      [other],
    ],
    [
      "a page scoped by position only",
      'select "id" from "todos" where ("todos"."created_at", "todos"."id") < ($1::timestamptz, $2::uuid) order by "todos"."created_at" desc limit $3',
      ["2025-01-01T00:00:00.000Z", me, 8],
    ],
    ["a key looked up by key only", 'select "todo_id" from "idempotency_keys" where "idempotency_keys"."key" = $1', ["k"]],
    [
      "a key of another user",
      'select "todo_id" from "idempotency_keys" where ("idempotency_keys"."user_id" = $1 and "idempotency_keys"."key" = $2)',
      [other, "k"],
    ],
    [
      "a key claimed for someone else",
      'insert into "idempotency_keys" ("user_id", "key") select $1::uuid as "user_id", $2 as "key" from (values (1)) as one_row(x)',
      [other, "k"],
    ],
    [
      "a create scoped, its eviction of old keys not",
      'with "evicted" as (delete from "idempotency_keys" where "idempotency_keys"."key" = any(array(select "key" from "idempotency_keys" where "idempotency_keys"."user_id" = $1))) select 1',
      [me],
    ],
    [
      "a scoped read next to an unscoped one",
      'select "id" from "todos" where "todos"."user_id" = $1 union all select "id" from "todos" where "todos"."id" = $2',
      [me, other],
    ],
  ])("%s", (_, query, params) => {
    expect(scopeProblem(query, params, me)).toBeString();
  });
});

test("the audit passes statements scoped to the caller", () => {
  expect(scopeProblem('select "id" from "todos" where ("todos"."user_id" = $1 and "todos"."id" = $2)', [me, other], me)).toBeUndefined();
  expect(
    scopeProblem(
      'select "todo_id" from "idempotency_keys" where ("idempotency_keys"."user_id" = $1 and "idempotency_keys"."key" = $2)',
      [me, "k"],
      me,
    ),
  ).toBeUndefined();
  expect(
    scopeProblem(
      'with "new_user" as (insert into "users" ("id") values ($1) on conflict do nothing returning "id") insert into "todos" ("id", "user_id", "title", "description", "is_completed", "created_at") values (default, $2, $3, $4, default, default)',
      [me, me, "t", null],
      me,
    ),
  ).toBeUndefined();
});

test("every API request's statements pass through the audit", async () => {
  const api = testClient();
  const user = newUserId();
  const before = audit.checked;
  const { json } = await api.create(user, { title: "audited" });
  await api.create(user, { title: "audited too" });
  await api.list(user);
  // Every shape of page query: first or after a cursor, with or without the filter.
  const { json: page } = await api.list(user, "limit=1");
  expect(page.next_cursor).toBeString();
  await api.list(user, `limit=1&cursor=${page.next_cursor}`);
  // A cursor belongs to its list: the filtered walk goes on with its own.
  const { json: open } = await api.list(user, "limit=1&completed=false");
  expect(open.next_cursor).toBeString();
  await api.list(user, `limit=1&completed=false&cursor=${open.next_cursor}`);
  await api.get(user, json.id);
  await api.update(user, json.id, { is_completed: true });
  await api.remove(user, json.id);
  // A keyed create, its replay (the create, then the key's lookup), changes guarded by If-Match that fail
  // (the change, then the lookup that tells 412 from 404), the delete, and a replay after it (the
  // create, the key's lookup).
  const key = { "idempotency-key": crypto.randomUUID() };
  const keyed = await api.call("POST", "/api/v1/todos", { user, body: { title: "keyed" }, headers: key });
  await api.call("POST", "/api/v1/todos", { user, body: { title: "keyed" }, headers: key });
  const stale = { "if-match": `"${keyed.json.id}.7"` };
  await api.call("PATCH", `/api/v1/todos/${keyed.json.id}`, { user, body: { title: "x" }, headers: stale });
  await api.call("DELETE", `/api/v1/todos/${keyed.json.id}`, { user, headers: stale });
  await api.call("DELETE", `/api/v1/todos/${keyed.json.id}`, { user });
  const replayed = await api.call("POST", "/api/v1/todos", { user, body: { title: "keyed" }, headers: key });
  expect(replayed.json.id).toBe(keyed.json.id);
  expect(audit.checked - before).toBe(20);
});
