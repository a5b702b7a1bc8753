// The todo-app front end's calls, one by one as its server actions make them (Phase_II/frontend/lib/api/tasks.ts):
// `${BACKEND_URL}/${session.user.id}/tasks...` with `Authorization: Bearer <jwt>` and `Content-Type:
// application/json` on every call, tokens from a real Better Auth configured as the front end configures it
// (jwt plugin, RS256, issuer its own URL, audience the API's URL, its default non-UUID user ids).
import { afterAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { userIdOf } from "../../src/auth/subject";
import { readConfig } from "../../src/config";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { type BetterAuthUser, startBetterAuth } from "../support/better-auth";
import { asCaller } from "../support/query-audit";

const API_URL = "http://localhost:8000";
const betterAuth = await startBetterAuth({
  jwt: { jwks: { keyPairConfig: { alg: "RS256" }, disablePrivateKeyEncryption: true }, jwt: { audience: API_URL, expirationTime: "15m" } },
});
afterAll(() => betterAuth.stop());

// The service as the front end's deployment configures it.
const { database, config } = sharedDatabase();
const { auth } = readConfig({ AUTH_JWKS_URL: betterAuth.jwksUrl, AUTH_ISSUER: betterAuth.baseURL, AUTH_AUDIENCE: API_URL });
const app = createApp({ database, config: { ...config, auth } });

type Reply = { status: number; json: any; headers: Headers };

/** One call as the front end makes it: BACKEND_URL ends in /api, and every call says JSON. */
async function call(
  user: BetterAuthUser,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const request = new Request(`http://localhost/api${path}`, {
    method,
    headers: { authorization: `Bearer ${await user.token()}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await asCaller(userIdOf(betterAuth.baseURL, user.id), () => app.handle(request));
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}

const taskShape = (user: BetterAuthUser, fields: Record<string, unknown>) => ({
  id: expect.any(String),
  created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  user_id: user.id,
  description: null,
  is_completed: false,
  priority: "Medium",
  ...fields,
});

describe("the front end's calls, in the order a person makes them", () => {
  test("sign up, add tasks with priorities, see them, toggle, edit, complete, delete, and find it all as left", async () => {
    const user = await betterAuth.signUp();
    expect(user.id).not.toMatch(/^[0-9a-f]{8}-/);
    const base = `/${user.id}/tasks`;

    expect(await call(user, "GET", base)).toMatchObject({ status: 200, json: { items: [], count: 0 } });

    const milk = await call(user, "POST", base, { title: "Buy milk", description: null, priority: "High" });
    expect(milk.status).toBe(201);
    expect(milk.json).toEqual(taskShape(user, { title: "Buy milk", priority: "High" }));
    const bread = await call(user, "POST", base, { title: "Bake bread", description: "rye", priority: "Low" });
    const plain = await call(user, "POST", base, { title: "Call mum", description: null, priority: "Medium" });

    const listed = await call(user, "GET", base);
    expect(listed.json.count).toBe(3);
    expect(listed.json.items).toEqual([plain.json, bread.json, milk.json]);

    const toggled = await call(user, "PATCH", `${base}/${milk.json.id}/complete`);
    expect(toggled).toMatchObject({ status: 200, json: { ...milk.json, is_completed: true } });
    const back = await call(user, "PATCH", `${base}/${milk.json.id}/complete`);
    expect(back.json.is_completed).toBe(false);

    const edited = await call(user, "PUT", `${base}/${bread.json.id}`, {
      title: "Bake sourdough",
      description: null,
      is_completed: true,
      priority: "Medium",
    });
    expect(edited).toMatchObject({
      status: 200,
      json: { ...bread.json, title: "Bake sourdough", description: null, is_completed: true, priority: "Medium" },
    });

    const completed = await call(user, "POST", `${base}/${plain.json.id}/complete`);
    expect(completed.json.is_completed).toBe(true);
    expect((await call(user, "POST", `${base}/${plain.json.id}/complete`)).json.is_completed).toBe(true);

    expect((await call(user, "GET", `${base}/metrics`)).json).toEqual({
      total: 3,
      completed: 2,
      pending: 1,
      overdue: 0,
      high_priority: 1,
      medium_priority: 2,
      low_priority: 0,
    });

    const removed = await call(user, "DELETE", `${base}/${milk.json.id}`);
    expect(removed.status).toBe(204);
    const gone = await call(user, "GET", `${base}/${milk.json.id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.detail).toBe("No task with this id exists.");

    // Reloaded: everything as it was left.
    const reloaded = await call(user, "GET", base);
    expect(reloaded.json.items.map((task: { title: string; is_completed: boolean }) => [task.title, task.is_completed])).toEqual([
      ["Call mum", true],
      ["Bake sourdough", true],
    ]);
    // /api/v1 shows the same todos to the same person.
    const me = await call(user, "GET", "/v1/me");
    expect(me.json.subject).toBe(user.id);
  }, 30_000);

  test("GET /api/me answers the subject, email and name the token carries", async () => {
    const user = await betterAuth.signUp();
    const me = await call(user, "GET", "/me");
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ user_id: user.id, email: expect.stringMatching(/@example\.com$/), name: "Test User" });
  });
});

describe("a second user sees none of it", () => {
  test("another user's path is 403 with a readable detail; their task ids under one's own path are 404", async () => {
    const alice = await betterAuth.signUp();
    const bob = await betterAuth.signUp();
    const secret = await call(alice, "POST", `/${alice.id}/tasks`, { title: "alice private", description: null, priority: "High" });
    for (const [method, path] of [
      ["GET", `/${alice.id}/tasks`],
      ["GET", `/${alice.id}/tasks/metrics`],
      ["GET", `/${alice.id}/tasks/${secret.json.id}`],
      ["PATCH", `/${alice.id}/tasks/${secret.json.id}/complete`],
      ["DELETE", `/${alice.id}/tasks/${secret.json.id}`],
    ] as const) {
      const refused = await call(bob, method, path);
      expect({ method, path, status: refused.status, code: refused.json.error_code }).toEqual({
        method,
        path,
        status: 403,
        code: "USER_MISMATCH",
      });
      expect(refused.json.detail).toContain("not yours");
    }
    for (const [method, path] of [
      ["GET", `/${bob.id}/tasks/${secret.json.id}`],
      ["PATCH", `/${bob.id}/tasks/${secret.json.id}/complete`],
      ["DELETE", `/${bob.id}/tasks/${secret.json.id}`],
    ] as const) {
      expect((await call(bob, method, path)).status).toBe(404);
    }
    expect((await call(bob, "GET", `/${bob.id}/tasks`)).json).toEqual({ items: [], count: 0 });
    expect((await call(alice, "GET", `/${alice.id}/tasks/${secret.json.id}`)).json).toEqual(secret.json);
  });

  test("a path that differs from the subject only in case is someone else's", async () => {
    const user = await betterAuth.signUp();
    const other = user.id === user.id.toUpperCase() ? user.id.toLowerCase() : user.id.toUpperCase();
    expect((await call(user, "GET", `/${other}/tasks`)).status).toBe(403);
  });

  test("without a token: 401, with a detail to show", async () => {
    const response = await app.handle(
      new Request("http://localhost/api/someone/tasks", { headers: { "content-type": "application/json" } }),
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain("Bearer");
  });
});

describe("the /api/v1 rules hold here too", () => {
  test("body rules, the limit's wording, If-Match and Idempotency-Key", async () => {
    const user = await betterAuth.signUp();
    const base = `/${user.id}/tasks`;
    const badPriority = await call(user, "POST", base, { title: "x", priority: "Urgent" });
    expect(badPriority.status).toBe(422);
    expect(badPriority.json.field_errors).toEqual([{ field: "priority", code: "invalid", message: "must be one of High, Medium, Low" }]);
    const incomplete = await call(user, "PUT", `${base}/${crypto.randomUUID()}`, { title: "x" });
    expect(incomplete.status).toBe(422);

    const key = { "idempotency-key": crypto.randomUUID() };
    const first = await call(user, "POST", base, { title: "once", priority: "Low" }, key);
    const again = await call(user, "POST", base, { title: "once", priority: "Low" }, key);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get("idempotent-replayed")).toBe("true");

    const etag = first.headers.get("etag") as string;
    await call(user, "PATCH", `${base}/${first.json.id}/complete`);
    expect((await call(user, "PATCH", `${base}/${first.json.id}/complete`, undefined, { "if-match": etag })).status).toBe(412);
    expect((await call(user, "GET", base)).json.count).toBe(1);
  });
});

describe("header mode", () => {
  const api = testClient(createApp(sharedDatabase()));
  test("the path's user must be exactly the X-User-Id", async () => {
    const user = newUserId();
    const created = await api.call("POST", `/api/${user}/tasks`, { user, body: { title: "mine" } });
    expect(created.status).toBe(201);
    expect(created.json.user_id).toBe(user);
    expect((await api.call("GET", `/api/${newUserId()}/tasks`, { user })).status).toBe(403);
  });
});
