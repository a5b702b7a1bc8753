// Idempotency-Key on create: a create whose answer was lost can be sent again and never makes a
// second todo.
import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { IDEMPOTENCY_KEYS_PER_USER } from "../../src/db/schema";
import { newUserId, sharedDatabase, suiteApp, testClient } from "../support/api";
import { queryRows } from "../support/database";

const api = testClient();
const { db } = sharedDatabase().database;

const createWithKey = (user: string, key: string, body: unknown, client = api) =>
  client.call("POST", "/api/v1/todos", { user, body, headers: { "idempotency-key": key } });

describe("Idempotency-Key on create", () => {
  test("a repeat with the same key and body answers the original 201 and creates nothing", async () => {
    const user = newUserId();
    const key = crypto.randomUUID();
    const first = await createWithKey(user, key, { title: "Buy milk", description: "2 litres" });
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await createWithKey(user, key, { description: "2 litres", title: "Buy milk" });
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await api.list(user)).json.items).toEqual([first.json]);
  });

  test("the replay is the original answer, even after the todo changed or was deleted", async () => {
    const user = newUserId();
    const key = crypto.randomUUID();
    const first = await createWithKey(user, key, { title: "draft" });
    await api.update(user, first.json.id, { title: "final", is_completed: true });
    expect((await createWithKey(user, key, { title: "draft" })).json).toEqual(first.json);
    await api.remove(user, first.json.id);
    const afterDelete = await createWithKey(user, key, { title: "draft" });
    expect(afterDelete.status).toBe(201);
    expect(afterDelete.json).toEqual(first.json);
    expect((await api.list(user)).json.count).toBe(0);
  });

  test("an absent description and null are the same request", async () => {
    const user = newUserId();
    const key = crypto.randomUUID();
    const first = await createWithKey(user, key, { title: "a" });
    expect((await createWithKey(user, key, { title: "a", description: null })).json).toEqual(first.json);
  });

  test("the same key with another body is 422 IDEMPOTENCY_KEY_REUSED, and nothing is created", async () => {
    const user = newUserId();
    const key = crypto.randomUUID();
    await createWithKey(user, key, { title: "Buy milk" });
    for (const body of [{ title: "Buy bread" }, { title: "Buy milk", description: "" }]) {
      const reused = await createWithKey(user, key, body);
      expect(reused.status).toBe(422);
      expect(reused.headers.get("content-type")).toBe("application/problem+json");
      expect(reused.json.error_code).toBe("IDEMPOTENCY_KEY_REUSED");
    }
    expect((await api.list(user)).json.count).toBe(1);
  });

  test("keys are per user: another user's same key makes their own todo", async () => {
    const key = crypto.randomUUID();
    const alice = newUserId();
    const bob = newUserId();
    const hers = await createWithKey(alice, key, { title: "same" });
    const his = await createWithKey(bob, key, { title: "same" });
    expect(his.status).toBe(201);
    expect(his.headers.get("idempotent-replayed")).toBeNull();
    expect(his.json.id).not.toBe(hers.json.id);
    expect(his.json.user_id).toBe(bob);
    // And another body under her key is no concern of his.
    expect((await createWithKey(bob, crypto.randomUUID(), { title: "other" })).status).toBe(201);
  });

  test.each([
    ["empty", ""],
    ["256 characters", "k".repeat(256)],
    ["a space inside", "two words"],
    ["a non-ASCII character", "clé"],
    ["a control character", "a\tb"],
  ])("a key that is %s is refused with 400, and nothing is created", async (_, key) => {
    const user = newUserId();
    const { status, json } = await createWithKey(user, key, { title: "x" });
    expect(status).toBe(400);
    expect(json.error_code).toBe("VALIDATION_ERROR");
    expect(json.field_errors).toContainEqual({
      field: "idempotency-key",
      code: "invalid_format",
      message: expect.stringContaining("visible ASCII"),
    });
    expect((await api.list(user)).json.count).toBe(0);
  });

  test("a key of 255 visible ASCII characters is accepted", async () => {
    const key = `${"!~".repeat(127)}z`;
    expect((await createWithKey(newUserId(), key, { title: "x" })).status).toBe(201);
  });

  test("many concurrent creates with one key make exactly one todo", async () => {
    const user = newUserId();
    const key = crypto.randomUUID();
    const responses = await Promise.all(Array.from({ length: 24 }, () => createWithKey(user, key, { title: "once" })));
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 201));
    expect(new Set(responses.map((response) => response.json.id)).size).toBe(1);
    expect(responses.filter((response) => response.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect((await api.list(user)).json.count).toBe(1);
  });

  test("without the header, each create makes a todo as before", async () => {
    const user = newUserId();
    await api.create(user, { title: "twice" });
    await api.create(user, { title: "twice" });
    expect((await api.list(user)).json.count).toBe(2);
  });
});

describe("Idempotency-Key and the per-user limit", () => {
  const limited = testClient(suiteApp({ maxTodosPerUser: 1 }));

  test("a keyed create past the limit is 409 and remembers nothing; a replay at the limit still answers", async () => {
    const user = newUserId();
    const first = await createWithKey(user, "first", { title: "one" }, limited);
    expect(first.status).toBe(201);
    expect((await createWithKey(user, "first", { title: "one" }, limited)).json).toEqual(first.json);
    const over = await createWithKey(user, "second", { title: "two" }, limited);
    expect(over.status).toBe(409);
    expect(over.json.error_code).toBe("TODO_LIMIT_REACHED");
    await limited.remove(user, first.json.id);
    // The refused key was not taken: with room again, it creates.
    const second = await createWithKey(user, "second", { title: "two" }, limited);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBeNull();
  });
});

describe("a deleted todo whose key is live", () => {
  test("is gone from every operation, its row deleted, and leaves room under the limit", async () => {
    const limited = testClient(suiteApp({ maxTodosPerUser: 1 }));
    const user = newUserId();
    const first = await createWithKey(user, "k", { title: "secret title", description: "secret text" }, limited);
    expect((await limited.remove(user, first.json.id)).status).toBe(204);
    const etag = first.headers.get("etag") as string;
    expect((await limited.get(user, first.json.id)).status).toBe(404);
    expect((await limited.call("GET", `/api/v1/todos/${first.json.id}`, { user, headers: { "if-none-match": etag } })).status).toBe(404);
    expect((await limited.update(user, first.json.id, { title: "back" })).status).toBe(404);
    const ifMatch = { "if-match": etag };
    expect((await limited.call("PATCH", `/api/v1/todos/${first.json.id}`, { user, body: { title: "x" }, headers: ifMatch })).status).toBe(
      404,
    );
    expect((await limited.call("DELETE", `/api/v1/todos/${first.json.id}`, { user, headers: ifMatch })).status).toBe(404);
    expect((await limited.remove(user, first.json.id)).status).toBe(404);
    expect((await limited.list(user)).json.count).toBe(0);
    expect((await limited.create(user, { title: "room for one" })).status).toBe(201);
    expect(await queryRows(db, sql`select title from todos where user_id = ${user}`)).toEqual([{ title: "room for one" }]);
  });

  test("a retry sent together with the todo's delete replays, never makes it again", async () => {
    for (let round = 0; round < 10; round++) {
      const user = newUserId();
      const key = crypto.randomUUID();
      const first = await createWithKey(user, key, { title: "once" });
      const [retry] = await Promise.all([createWithKey(user, key, { title: "once" }), api.remove(user, first.json.id)]);
      expect(retry.status).toBe(201);
      expect(retry.json.id).toBe(first.json.id);
      expect((await api.list(user)).json.count).toBe(0);
    }
  });
});

describe("expiry", () => {
  // A key's instant is its create's, kept on the key's own row.
  const ageKey = (user: string, key: string, hours: number) =>
    db.execute(
      sql`update idempotency_keys set created_at = now() - make_interval(hours => ${hours}) where user_id = ${user} and key = ${key}`,
    );
  const keysOf = async (user: string) =>
    (await queryRows<{ key: string }>(db, sql`select key from idempotency_keys where user_id = ${user} order by key`)).map(
      (row) => row.key,
    );

  test("a key is remembered for 24 hours, then is free again; its todo stays, at its version", async () => {
    const user = newUserId();
    const first = await createWithKey(user, "k", { title: "old" });
    await ageKey(user, "k", 23);
    expect((await createWithKey(user, "k", { title: "new" })).status).toBe(422);
    await ageKey(user, "k", 25);
    const reused = await createWithKey(user, "k", { title: "new" });
    expect(reused.status).toBe(201);
    expect(reused.headers.get("idempotent-replayed")).toBeNull();
    expect(reused.json.id).not.toBe(first.json.id);
    expect((await createWithKey(user, "k", { title: "new" })).json).toEqual(reused.json);
    const old = await api.get(user, first.json.id);
    expect(old.status).toBe(200);
    expect(old.headers.get("etag")).toBe(first.headers.get("etag"));
  });

  test("concurrent reuses of an expired key make exactly one todo, and every answer is a 201", async () => {
    const user = newUserId();
    await createWithKey(user, "k", { title: "old" });
    await ageKey(user, "k", 25);
    const answers = await Promise.all(Array.from({ length: 12 }, () => createWithKey(user, "k", { title: "new" })));
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
    expect(answers.filter((answer) => answer.headers.get("idempotent-replayed") === null)).toHaveLength(1);
    expect(new Set(answers.map((answer) => answer.json.id)).size).toBe(1);
    expect((await api.list(user)).json.count).toBe(2);
  });

  test("a deleted todo's key is remembered until 24 hours after its create", async () => {
    const user = newUserId();
    const first = await createWithKey(user, "k", { title: "once" });
    await api.remove(user, first.json.id);
    await ageKey(user, "k", 23);
    const replayed = await createWithKey(user, "k", { title: "once" });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.json.id).toBe(first.json.id);
    expect((await api.list(user)).json.count).toBe(0);
    await ageKey(user, "k", 25);
    const again = await createWithKey(user, "k", { title: "once" });
    expect(again.status).toBe(201);
    expect(again.json.id).not.toBe(first.json.id);
    expect((await api.list(user)).json.count).toBe(1);
  });

  test(`a user keeps at most ${IDEMPOTENCY_KEYS_PER_USER} keys: a new one pushes out the oldest, and no one else's`, async () => {
    const user = newUserId();
    const other = newUserId();
    await createWithKey(other, "other's", { title: "kept" });
    // A user who has made a key's worth of keyed creates and deleted their todos: key k1 is the newest.
    await createWithKey(user, "k0", { title: "first" });
    await db.execute(sql`insert into idempotency_keys (user_id, key, request_hash, todo_id, created_at)
      select ${user}, 'k' || n, 'hash', gen_random_uuid(), now() - n * interval '1 second'
      from generate_series(1, ${IDEMPOTENCY_KEYS_PER_USER - 1}) as n`);
    expect(await keysOf(user)).toHaveLength(IDEMPOTENCY_KEYS_PER_USER);
    const newest = await createWithKey(user, "newest", { title: "newest" });
    expect(newest.status).toBe(201);
    const kept = await keysOf(user);
    expect(kept).toHaveLength(IDEMPOTENCY_KEYS_PER_USER);
    expect(kept).toContain("newest");
    expect(kept).toContain("k0");
    expect(kept).not.toContain(`k${IDEMPOTENCY_KEYS_PER_USER - 1}`);
    expect(await keysOf(other)).toEqual(["other's"]);
  });

  test("keyed creates and deletes in a loop leave no todo rows behind", async () => {
    const user = newUserId();
    for (let i = 0; i < 20; i++) await api.remove(user, (await createWithKey(user, `k${i}`, { title: "brief" })).json.id);
    expect(await queryRows(db, sql`select id from todos where user_id = ${user}`)).toEqual([]);
    expect(await keysOf(user)).toHaveLength(20);
  });
});
