// Behind Better Auth, end to end: a real Better Auth server with its defaults hands out the
// tokens, and the service is configured with nothing but the README's three variables. The
// app is in bearer mode whatever TEST_AUTH says, so this runs the same in both CI modes.
import { afterAll, describe, expect, setSystemTime, test } from "bun:test";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { createApp } from "../../src/app";
import { readConfig } from "../../src/config";
import { isUuid } from "../../src/uuid";
import { sharedDatabase } from "../support/api";
import { type BetterAuthServer, type BetterAuthUser, startBetterAuth } from "../support/better-auth";
import { asCaller } from "../support/query-audit";

const betterAuth = await startBetterAuth();
const servers: BetterAuthServer[] = [betterAuth];
afterAll(() => Promise.all(servers.map((server) => server.stop())));

/** A fresh instance of the service behind `server`, configured as the README says. */
function serviceBehind(server: BetterAuthServer) {
  const { database, config } = sharedDatabase();
  const { auth } = readConfig({ AUTH_JWKS_URL: server.jwksUrl, AUTH_ISSUER: server.baseURL, AUTH_AUDIENCE: server.baseURL });
  return createApp({ database, config: { ...config, auth } });
}

type App = ReturnType<typeof createApp>;

/** Calls the API with a bearer token; `asUser` audits the request's statements against that user id. */
async function call(app: App, token: string, method: string, path: string, body?: unknown, asUser?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const request = new Request(`http://localhost/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const response = await (asUser ? asCaller(asUser, () => app.handle(request)) : app.handle(request));
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

/** A signed-up Better Auth user, with the user id the service knows them by (from /me). */
async function signedIn(app: App, server = betterAuth) {
  const user: BetterAuthUser = await server.signUp();
  const me = await call(app, await user.token(), "GET", "/me");
  expect(me.status).toBe(200);
  const userId: string = me.json.user_id;
  const as = async (method: string, path: string, body?: unknown) => call(app, await user.token(), method, path, body, userId);
  return { ...user, userId, me: me.json, as };
}

const app = serviceBehind(betterAuth);
const minutes = (n: number) => n * 60_000;

test("Better Auth's tokens are what the README configures for: EdDSA with a kid, its base URL as iss and aud, 15 minutes", async () => {
  const token = await (await betterAuth.signUp()).token();
  const header = decodeProtectedHeader(token);
  const claims = decodeJwt(token);
  expect(header.alg).toBe("EdDSA");
  expect(header.kid).toBeString();
  expect(claims.iss).toBe(betterAuth.baseURL);
  expect(claims.aud).toBe(betterAuth.baseURL);
  expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(15 * 60);
});

test("a Better Auth user uses all five operations and /me with the token Better Auth gave them", async () => {
  const alice = await signedIn(app);
  expect(alice.me.subject).toBe(alice.id);
  expect(isUuid(alice.userId)).toBe(true);

  const created = await alice.as("POST", "/todos", { title: "Buy milk", description: "2 litres" });
  expect(created.status).toBe(201);
  expect(created.json).toMatchObject({ title: "Buy milk", description: "2 litres", is_completed: false, user_id: alice.userId });
  const id = created.json.id;
  expect((await alice.as("GET", "/todos")).json).toEqual({ items: [created.json], count: 1, total: 1, next_cursor: null });
  expect((await alice.as("GET", `/todos/${id}`)).json).toEqual(created.json);
  const updated = await alice.as("PATCH", `/todos/${id}`, { is_completed: true });
  expect(updated.status).toBe(200);
  expect(updated.json).toEqual({ ...created.json, is_completed: true, updated_at: expect.any(String) });
  expect((await alice.as("DELETE", `/todos/${id}`)).status).toBe(204);
  expect((await alice.as("GET", `/todos/${id}`)).status).toBe(404);
});

test("two Better Auth users never see, change or delete each other's todos", async () => {
  const alice = await signedIn(app);
  const bob = await signedIn(app);
  expect(bob.userId).not.toBe(alice.userId);
  const secret = (await alice.as("POST", "/todos", { title: "alice's" })).json;

  expect((await bob.as("GET", "/todos")).json).toEqual({ items: [], count: 0, total: 0, next_cursor: null });
  expect((await bob.as("GET", `/todos/${secret.id}`)).status).toBe(404);
  expect((await bob.as("PATCH", `/todos/${secret.id}`, { title: "bob was here" })).status).toBe(404);
  expect((await bob.as("DELETE", `/todos/${secret.id}`)).status).toBe(404);
  expect((await alice.as("GET", "/todos")).json).toEqual({ items: [secret], count: 1, total: 1, next_cursor: null });
});

test("another instance of the service, started later, knows the user by the same id and finds their todos", async () => {
  const alice = await signedIn(app);
  const todo = (await alice.as("POST", "/todos", { title: "kept across instances" })).json;
  const restarted = serviceBehind(betterAuth);
  const token = await alice.token();
  expect((await call(restarted, token, "GET", "/me")).json).toEqual(alice.me);
  expect((await call(restarted, token, "GET", "/todos", undefined, alice.userId)).json).toEqual({
    items: [todo],
    count: 1,
    total: 1,
    next_cursor: null,
  });
});

describe("with the clock moved forward", () => {
  const later = (ms: number) => setSystemTime(new Date(Date.now() + ms));

  test("after Better Auth rotates its key, tokens signed by the new key work, and the old key's too until they expire", async () => {
    const rotating = await startBetterAuth({ jwt: { jwks: { rotationInterval: 60 } } });
    servers.push(rotating);
    const service = serviceBehind(rotating);
    const alice = await signedIn(service, rotating);
    const before = await alice.token();
    expect((await call(service, before, "GET", "/todos", undefined, alice.userId)).status).toBe(200);
    try {
      // Past the key's rotation interval, and past the service's 30 s refetch cooldown.
      later(61_000);
      const after = await alice.token();
      expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
      const created = await call(service, after, "POST", "/todos", { title: "after the rotation" }, alice.userId);
      expect(created.status).toBe(201);
      expect(created.json.user_id).toBe(alice.userId);
      expect((await call(service, before, "GET", "/todos", undefined, alice.userId)).json.count).toBe(1);
    } finally {
      setSystemTime();
    }
  });

  test("a Better Auth token is refused with TOKEN_EXPIRED once its 15 minutes are over", async () => {
    const alice = await signedIn(app);
    const token = await alice.token();
    try {
      later(minutes(14));
      expect((await call(app, token, "GET", "/todos", undefined, alice.userId)).status).toBe(200);
      later(minutes(2));
      const expired = await call(app, token, "GET", "/todos");
      expect(expired.status).toBe(401);
      expect(expired.json.error_code).toBe("TOKEN_EXPIRED");
    } finally {
      setSystemTime();
    }
  });
});

test("a token from another Better Auth instance (its own keys, the same issuer URL) is refused", async () => {
  const impostor = await startBetterAuth({ baseURL: betterAuth.baseURL });
  servers.push(impostor);
  const token = await (await impostor.signUp()).token();
  expect(decodeJwt(token).iss).toBe(betterAuth.baseURL);
  const response = await call(app, token, "POST", "/todos", { title: "must not be stored" });
  expect(response.status).toBe(401);
  expect(response.json.error_code).toBe("INVALID_SIGNATURE");
});
