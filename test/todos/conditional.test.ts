// ETag, If-None-Match and If-Match: a client can tell whether its copy is current, and change a
// todo only if nobody changed it since.
import { describe, expect, test } from "bun:test";
import { newUserId, testClient } from "../support/api";

const api = testClient();

async function created(user: string, title = "Buy milk") {
  const response = await api.create(user, { title });
  expect(response.status).toBe(201);
  return { todo: response.json, etag: response.headers.get("etag") ?? "" };
}

const patch = (user: string, id: string, body: unknown, headers: Record<string, string>) =>
  api.call("PATCH", `/api/v1/todos/${id}`, { user, body, headers });
const remove = (user: string, id: string, headers: Record<string, string>) => api.call("DELETE", `/api/v1/todos/${id}`, { user, headers });
const get = (user: string, id: string, headers: Record<string, string>) => api.call("GET", `/api/v1/todos/${id}`, { user, headers });

describe("updated_at", () => {
  test("equals created_at on a new todo, and moves forward with every change", async () => {
    const user = newUserId();
    const { todo } = await created(user);
    expect(todo.updated_at).toBe(todo.created_at);
    await Bun.sleep(3);
    const changed = (await api.update(user, todo.id, { title: "Buy oat milk" })).json;
    expect(changed.created_at).toBe(todo.created_at);
    expect(Date.parse(changed.updated_at)).toBeGreaterThan(Date.parse(todo.updated_at));
    expect(changed.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe("ETag", () => {
  test("create, retrieve and update answer a strong ETag that changes with the todo, and only then", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    expect(etag).toMatch(/^"[^"]+"$/);
    expect((await api.get(user, todo.id)).headers.get("etag")).toBe(etag);
    const updated = await api.update(user, todo.id, { is_completed: true });
    const next = updated.headers.get("etag");
    expect(next).toMatch(/^"[^"]+"$/);
    expect(next).not.toBe(etag);
    expect((await api.get(user, todo.id)).headers.get("etag")).toBe(next);
    // The same values again are still a change: a new version.
    expect((await api.update(user, todo.id, { is_completed: true })).headers.get("etag")).not.toBe(next);
  });
});

describe("If-None-Match on retrieve", () => {
  test("the current ETag answers 304 with no body and the ETag", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const response = await get(user, todo.id, { "if-none-match": etag });
    expect(response.status).toBe(304);
    expect(response.text).toBe("");
    expect(response.headers.get("etag")).toBe(etag);
  });

  test.each([
    ["its weak form (If-None-Match compares weakly)", (etag: string) => `W/${etag}`],
    ["a list holding it", (etag: string) => `"something-else", ${etag}`],
    ["*", () => "*"],
  ])("%s also answers 304", async (_, header) => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    expect((await get(user, todo.id, { "if-none-match": header(etag) })).status).toBe(304);
  });

  test("an out-of-date or foreign ETag answers 200 with the todo", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const other = await created(user, "another");
    await api.update(user, todo.id, { title: "changed" });
    for (const header of [etag, other.etag, "garbage"]) {
      const response = await get(user, todo.id, { "if-none-match": header });
      expect(response.status).toBe(200);
      expect(response.json.title).toBe("changed");
      expect(response.headers.get("etag")).toBe(`"${todo.id}.2"`);
    }
  });

  test("the id in any case is the same todo: 304, with the ETag a plain retrieve gives", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const response = await get(user, todo.id.toUpperCase(), { "if-none-match": etag });
    expect(response.status).toBe(304);
    expect(response.headers.get("etag")).toBe(etag);
  });

  test("a missing todo is 404 whatever If-None-Match says", async () => {
    for (const header of ['"x.1"', "*"])
      expect((await get(newUserId(), crypto.randomUUID(), { "if-none-match": header })).status).toBe(404);
  });

  test("another user's todo is 404 whatever If-None-Match says", async () => {
    const { todo, etag } = await created(newUserId());
    for (const header of [etag, "*"]) expect((await get(newUserId(), todo.id, { "if-none-match": header })).status).toBe(404);
  });
});

describe("If-Match on update and delete", () => {
  test("the current ETag applies the change and answers the new ETag", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const response = await patch(user, todo.id, { title: "mine" }, { "if-match": etag });
    expect(response.status).toBe(200);
    expect(response.json.title).toBe("mine");
    const next = response.headers.get("etag") ?? "";
    expect(next).not.toBe(etag);
    expect((await remove(user, todo.id, { "if-match": next })).status).toBe(204);
    expect((await api.get(user, todo.id)).status).toBe(404);
  });

  test.each([
    [
      "an out-of-date ETag",
      async (user: string, id: string, etag: string) => {
        await api.update(user, id, { title: "moved on" });
        return etag;
      },
    ],
    ["the weak form of the current ETag (If-Match compares strongly)", async (_u: string, _id: string, etag: string) => `W/${etag}`],
    ["another todo's ETag at the same version", async (user: string) => (await created(user, "other")).etag],
    ["a version past any integer", async (_u: string, id: string) => `"${id}.99999999999"`],
  ])("%s answers 412 PRECONDITION_FAILED and changes nothing", async (_, stale) => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const header = await stale(user, todo.id, etag);
    const before = await api.get(user, todo.id);

    const refused = await patch(user, todo.id, { title: "lost update" }, { "if-match": header });
    expect(refused.status).toBe(412);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.json).toMatchObject({ status: 412, title: "Precondition Failed", error_code: "PRECONDITION_FAILED" });
    expect((await remove(user, todo.id, { "if-match": header })).status).toBe(412);

    const after = await api.get(user, todo.id);
    expect(after.json).toEqual(before.json);
    expect(after.headers.get("etag")).toBe(before.headers.get("etag"));
  });

  test("an If-Match that is no list of ETags answers 400 naming the header, and changes nothing", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    for (const header of ["version-1", `w/${etag}`, `zz${etag}zz`, `*, ${etag}`]) {
      const refused = await patch(user, todo.id, { title: "lost update" }, { "if-match": header });
      expect(refused.status).toBe(400);
      expect(refused.json.field_errors).toEqual([expect.objectContaining({ field: "If-Match", code: "invalid_format" })]);
      expect((await remove(user, todo.id, { "if-match": header })).status).toBe(400);
    }
    expect((await api.get(user, todo.id)).json).toEqual(todo);
  });

  test("If-None-Match on a change: 412 when it lists the current ETag (or is *), else the change applies", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    for (const header of ["*", etag, `W/${etag}`, `"other", ${etag}`]) {
      expect((await patch(user, todo.id, { title: "no" }, { "if-none-match": header })).status).toBe(412);
      expect((await remove(user, todo.id, { "if-none-match": header })).status).toBe(412);
    }
    expect((await api.get(user, todo.id)).json).toEqual(todo);
    const changed = await patch(user, todo.id, { title: "yes" }, { "if-none-match": `"${todo.id}.999"` });
    expect(changed.status).toBe(200);
    // Both conditions: If-Match must hold too.
    expect((await patch(user, todo.id, { title: "no" }, { "if-none-match": etag, "if-match": etag })).status).toBe(412);
    expect((await remove(user, todo.id, { "if-none-match": etag })).status).toBe(204);
    expect((await remove(user, todo.id, { "if-none-match": "*" })).status).toBe(404);
  });

  test("a list holding the current ETag matches", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    expect((await patch(user, todo.id, { title: "x" }, { "if-match": `"nope", ${etag}` })).status).toBe(200);
    // Any member matching is enough, a later version of the same todo beside it too (RFC 9110).
    const current = (await api.get(user, todo.id)).headers.get("etag") as string;
    const withLater = `${current}, "${todo.id}.999"`;
    expect((await patch(user, todo.id, { title: "y" }, { "if-match": withLater })).status).toBe(200);
    const after = (await api.get(user, todo.id)).headers.get("etag") as string;
    expect((await remove(user, todo.id, { "if-match": `"${todo.id}.999", ${after}` })).status).toBe(204);
  });

  test("* matches any existing todo, and a missing one is 404", async () => {
    const user = newUserId();
    const { todo } = await created(user);
    await api.update(user, todo.id, { title: "changed" });
    expect((await patch(user, todo.id, { title: "again" }, { "if-match": "*" })).status).toBe(200);
    expect((await remove(user, todo.id, { "if-match": "*" })).status).toBe(204);
    expect((await patch(user, todo.id, { title: "gone" }, { "if-match": "*" })).status).toBe(404);
    expect((await remove(user, todo.id, { "if-match": "*" })).status).toBe(404);
  });

  test("another user's todo answers 404 like a missing one, never 412, even with its real ETag", async () => {
    const owner = newUserId();
    const { todo, etag } = await created(owner);
    const intruder = newUserId();
    const missing = crypto.randomUUID();
    for (const header of [etag, `"${todo.id}.7"`, "*"]) {
      const onTheirs = await patch(intruder, todo.id, { title: "x" }, { "if-match": header });
      const onNothing = await patch(intruder, missing, { title: "x" }, { "if-match": header });
      expect(onTheirs.status).toBe(404);
      expect(onTheirs.text).toBe(onNothing.text);
      expect((await remove(intruder, todo.id, { "if-match": header })).status).toBe(404);
    }
    expect((await api.get(owner, todo.id)).headers.get("etag")).toBe(etag);
  });

  test("without If-Match, the last write wins as before", async () => {
    const user = newUserId();
    const { todo } = await created(user);
    await api.update(user, todo.id, { title: "first" });
    const second = await api.update(user, todo.id, { title: "second" });
    expect(second.status).toBe(200);
    expect(second.json.title).toBe("second");
  });

  test("many concurrent changes with the same If-Match: exactly one wins, the rest get 412", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const attempts = 24;
    const responses = await Promise.all(
      Array.from({ length: attempts }, (_, i) => patch(user, todo.id, { title: `writer ${i}` }, { "if-match": etag })),
    );
    const winners = responses.filter((response) => response.status === 200);
    expect(winners).toHaveLength(1);
    expect(responses.filter((response) => response.status === 412)).toHaveLength(attempts - 1);
    const now = await api.get(user, todo.id);
    expect(now.json.title).toBe(winners[0]?.json.title);
    expect(now.headers.get("etag")).toBe(winners[0]?.headers.get("etag") ?? "");
  });

  test("many concurrent deletes with the same If-Match: exactly one 204, the rest 412 or 404", async () => {
    const user = newUserId();
    const { todo, etag } = await created(user);
    const statuses = await Promise.all(Array.from({ length: 12 }, () => remove(user, todo.id, { "if-match": etag }).then((r) => r.status)));
    expect(statuses.filter((status) => status === 204)).toHaveLength(1);
    expect(statuses.every((status) => [204, 404, 412].includes(status))).toBe(true);
  });
});

describe("caches that revalidate", () => {
  test("a page of the list has a strong ETag: 304 while it is unchanged, a new ETag once a todo changes", async () => {
    const user = newUserId();
    const { todo } = await created(user);
    const first = await api.list(user);
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^"[0-9a-z]+"$/);
    const again = await api.call("GET", "/api/v1/todos", { user, headers: { "if-none-match": etag } });
    expect({ status: again.status, body: again.text, etag: again.headers.get("etag") }).toEqual({ status: 304, body: "", etag });
    await api.update(user, todo.id, { is_completed: true });
    const changed = await api.call("GET", "/api/v1/todos", { user, headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(changed.json.items[0].is_completed).toBe(true);
    // Another user's empty list is another page: the ETag is of the page, never a guess of someone else's.
    expect((await api.call("GET", "/api/v1/todos", { user: newUserId(), headers: { "if-none-match": etag } })).status).toBe(200);
  });

  test("answers with an ETag may be kept privately and must be revalidated; every other answer is no-store", async () => {
    const user = newUserId();
    const { todo } = await created(user);
    for (const reply of [await api.get(user, todo.id), await api.list(user)]) {
      expect(reply.headers.get("cache-control")).toBe("private, no-cache");
      expect(reply.headers.get("vary")).toBe("Authorization, X-User-Id");
    }
    const others = [
      await api.create(user, { title: "x" }),
      await api.update(user, todo.id, { title: "y" }),
      await api.get(user, crypto.randomUUID()),
      await api.list(user, "limit=0"),
      await api.remove(user, todo.id),
    ];
    expect(others.map((reply) => reply.headers.get("cache-control"))).toEqual(others.map(() => "no-store"));
  });
});
