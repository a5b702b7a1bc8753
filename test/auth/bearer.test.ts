// Bearer mode: the user is the `sub` of a JWT verified against the auth server's JWKS.
import { afterAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { SignJWT } from "jose";
import { createApp } from "../../src/app";
import { userIdOf } from "../../src/auth/subject";
import type { AuthConfig } from "../../src/config";
import { isUuid } from "../../src/uuid";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { queryRows } from "../support/database";
import { AUDIENCE, ISSUER, startAuthServer } from "../support/jwks";

const authServer = await startAuthServer();
afterAll(() => authServer.stop());

function appWith(auth: AuthConfig) {
  const { database, config } = sharedDatabase();
  return createApp({ database, config: { ...config, auth } });
}
const jwksApp = appWith({ mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: ISSUER, audience: AUDIENCE, maxLifetimeS: 86_400 });
// testClient also sends X-User-Id; raw calls below control every header themselves.
const api = testClient(jwksApp);

async function asBearer(
  token: string | undefined,
  method = "GET",
  path = "/api/v1/todos",
  extra: Record<string, string> = {},
  body?: unknown,
) {
  const headers: Record<string, string> = { ...extra };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return api.call(method, path, { headers, body });
}

describe("a valid token", () => {
  test.each(["RS256", "EdDSA"] as const)("signed with %s names the user by its sub", async (alg) => {
    const user = newUserId();
    const token = await authServer.sign({ sub: user }, { alg });
    const created = await asBearer(token, "POST", "/api/v1/todos", {}, { title: `signed with ${alg}` });
    expect(created.status).toBe(201);
    expect(created.json.user_id).toBe(userIdOf(ISSUER, user));
    expect((await asBearer(token)).json.items).toEqual([created.json]);
  });

  test("X-User-Id is ignored: a header naming another user cannot reach that user's data", async () => {
    const victim = newUserId();
    const attacker = newUserId();
    const victimToken = await authServer.sign({ sub: victim });
    const secret = (await asBearer(victimToken, "POST", "/api/v1/todos", {}, { title: "victim's" })).json;
    const attackerToken = await authServer.sign({ sub: attacker });
    const asVictimHeader = { "x-user-id": userIdOf(ISSUER, victim) };
    expect((await asBearer(attackerToken, "GET", "/api/v1/todos", asVictimHeader)).json).toEqual({
      items: [],
      count: 0,
      total: 0,
      next_cursor: null,
    });
    expect((await asBearer(attackerToken, "GET", `/api/v1/todos/${secret.id}`, asVictimHeader)).status).toBe(404);
    expect((await asBearer(attackerToken, "DELETE", `/api/v1/todos/${secret.id}`, asVictimHeader)).status).toBe(404);
    expect((await asBearer(victimToken, "GET", `/api/v1/todos/${secret.id}`)).json).toEqual(secret);
  });

  test("keys are fetched once and cached, not fetched per request", async () => {
    // An app of its own, so that nothing earlier has cached the key set for it.
    const fresh = testClient(
      appWith({ mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: ISSUER, audience: AUDIENCE, maxLifetimeS: 86_400 }),
    );
    const before = authServer.fetches();
    for (let i = 0; i < 5; i++) {
      const token = await authServer.sign({ sub: newUserId() });
      expect((await fresh.call("GET", "/api/v1/todos", { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    }
    expect(authServer.fetches() - before).toBe(1);
  });
});

describe("a subject that is not a UUID names a user of its own", () => {
  const me = async (token: string) => (await asBearer(token, "GET", "/api/v1/me")).json;

  test("its todos are stored under a UUID that /me reports with the subject", async () => {
    const subject = `user-${crypto.randomUUID()}`;
    const token = await authServer.sign({ sub: subject }, { alg: "EdDSA" });
    const { user_id, subject: reported } = await me(token);
    expect(reported).toBe(subject);
    expect(isUuid(user_id)).toBe(true);
    const created = await asBearer(token, "POST", "/api/v1/todos", {}, { title: "named by a non-UUID subject" });
    expect(created.status).toBe(201);
    expect(created.json.user_id).toBe(user_id);
    expect((await asBearer(token)).json.items).toEqual([created.json]);
  });

  test("subjects that differ only in case, spacing or length never share todos", async () => {
    const base = `Sub-${crypto.randomUUID()}`;
    const subjects = [base, base.toLowerCase(), `${base} `, ` ${base}`, `${base}é`, `${base}`.padEnd(255, "x")];
    const tokens = await Promise.all(subjects.map((sub) => authServer.sign({ sub })));
    const ids = await Promise.all(tokens.map(async (token) => (await me(token)).user_id));
    expect(new Set(ids).size).toBe(subjects.length);
    const todos = await Promise.all(
      tokens.map(async (token, i) => (await asBearer(token, "POST", "/api/v1/todos", {}, { title: `todo ${i}` })).json),
    );
    for (const [i, token] of tokens.entries()) expect((await asBearer(token)).json.items).toEqual([todos[i]]);
  });

  test("the same subject from another issuer is another user", async () => {
    const subject = `user-${crypto.randomUUID()}`;
    const other = "https://other-auth.test.local/";
    const otherApp = testClient(
      appWith({ mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: other, audience: AUDIENCE, maxLifetimeS: 86_400 }),
    );
    const here = await me(await authServer.sign({ sub: subject }));
    const there = await otherApp.call("GET", "/api/v1/me", {
      headers: { authorization: `Bearer ${await authServer.sign({ sub: subject }, { issuer: other })}` },
    });
    expect(there.json.subject).toBe(subject);
    expect(there.json.user_id).not.toBe(here.user_id);
  });
});

describe("one subject names one user, and one user is named by one subject", () => {
  const me = async (token: string) => (await asBearer(token, "GET", "/api/v1/me")).json;

  async function expectNoReach(ownerToken: string, intruderToken: string) {
    const owned = (await asBearer(ownerToken, "POST", "/api/v1/todos", {}, { title: "the owner's" })).json;
    expect((await me(intruderToken)).user_id).not.toBe(owned.user_id);
    expect((await asBearer(intruderToken)).json).toEqual({ items: [], count: 0, total: 0, next_cursor: null });
    expect((await asBearer(intruderToken, "GET", `/api/v1/todos/${owned.id}`)).status).toBe(404);
    expect((await asBearer(intruderToken, "DELETE", `/api/v1/todos/${owned.id}`)).status).toBe(404);
    expect((await asBearer(ownerToken, "GET", `/api/v1/todos/${owned.id}`)).json).toEqual(owned);
  }

  test("a UUID subject names a derived id too, its case kept", async () => {
    const subject = newUserId().toUpperCase();
    const answer = await me(await authServer.sign({ sub: subject }));
    expect(answer).toEqual({ user_id: userIdOf(ISSUER, subject), subject });
    expect(answer.user_id).not.toBe(subject.toLowerCase());
  });

  test("a token whose sub is another user's id cannot reach that user's todos", async () => {
    const owner = await authServer.sign({ sub: `user-${crypto.randomUUID()}` });
    const ownerId = (await me(owner)).user_id;
    await expectNoReach(owner, await authServer.sign({ sub: ownerId }));
  });

  test("a token whose sub is another user's UUID subject in upper case cannot reach that user's todos", async () => {
    const subject = newUserId();
    await expectNoReach(await authServer.sign({ sub: subject }), await authServer.sign({ sub: subject.toUpperCase() }));
  });
});

describe("401, with a distinct error code, when the token is", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | undefined> | string | undefined, string, Record<string, string>?][] = [
    ["missing", () => undefined, "MISSING_TOKEN"],
    ["sent with another scheme", () => undefined, "MALFORMED_TOKEN", { authorization: "Basic dXNlcjpwYXNz" }],
    ["not a JWT", () => "not-a-jwt", "MALFORMED_TOKEN"],
    ["followed by extra words", async () => `${await authServer.sign({ sub: newUserId() })} extra`, "MALFORMED_TOKEN"],
    ["expired", () => authServer.sign({ sub: newUserId() }, { expiresIn: now() - 3600 }), "TOKEN_EXPIRED"],
    ["signed by a key not the auth server's", () => authServer.sign({ sub: newUserId() }, { forge: true }), "INVALID_SIGNATURE"],
    ["signed with an unknown key id", () => authServer.sign({ sub: newUserId() }, { kid: "rotated-away" }), "INVALID_SIGNATURE"],
    [
      "HS256-signed (algorithm confusion)",
      () =>
        new SignJWT({ sub: newUserId() })
          .setProtectedHeader({ alg: "HS256" })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime("5m")
          .sign(new Uint8Array(32)),
      "INVALID_SIGNATURE",
    ],
    ["from another issuer", () => authServer.sign({ sub: newUserId() }, { issuer: "https://evil.example/" }), "WRONG_ISSUER"],
    ["for another audience", () => authServer.sign({ sub: newUserId() }, { audience: "another-api" }), "WRONG_AUDIENCE"],
    ["without a subject", () => authServer.sign({}), "MISSING_SUBJECT"],
    ["with an empty subject", () => authServer.sign({ sub: "" }), "MISSING_SUBJECT"],
    ["with a subject holding a control character", () => authServer.sign({ sub: "alice\u0007" }), "INVALID_SUBJECT"],
    ["with a subject holding a line break", () => authServer.sign({ sub: "alice\nbob" }), "INVALID_SUBJECT"],
    ["with a subject over 255 characters", () => authServer.sign({ sub: "a".repeat(256) }), "INVALID_SUBJECT"],
    ["with a subject that is not a string", () => authServer.sign({ sub: 42 as unknown as string }), "INVALID_SUBJECT"],
    ["without an expiry", () => authServer.sign({ sub: newUserId() }, { expiresIn: 0 }), "INVALID_TOKEN"],
  ];

  test.each(cases)("%s", async (_, makeToken, code, headers = {}) => {
    const user = newUserId();
    const token = await makeToken();
    const response = await asBearer(token, "POST", "/api/v1/todos", { "x-user-id": user, ...headers }, { title: "must not be stored" });
    expect(response.status).toBe(401);
    expect(response.json.error_code).toBe(code);
    expect(response.json.detail.length).toBeGreaterThan(10);
    expect(response.headers.get("www-authenticate")).toStartWith('Bearer realm="todo-api"');
    // Nothing was written for the user the header names.
    expect(await queryRows(sharedDatabase().database.db, sql`select id from todos where user_id = ${user}`)).toEqual([]);
  });
});

describe("development mode with AUTH_JWT_SECRET (HS256)", () => {
  const secret = new TextEncoder().encode("a-development-secret-of-32-bytes!");
  const app = testClient(appWith({ mode: "secret", maxLifetimeS: 86_400, secret }));
  const sign = (sub: string, key = secret) => new SignJWT({ sub }).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(key);

  test("a token signed with the secret is accepted; another secret is refused", async () => {
    const user = newUserId();
    const ok = await app.call("GET", "/api/v1/todos", { headers: { authorization: `Bearer ${await sign(user)}` } });
    expect(ok.status).toBe(200);
    const wrong = await app.call("GET", "/api/v1/todos", {
      headers: { authorization: `Bearer ${await sign(user, new TextEncoder().encode("another-secret-another-secret-!!"))}` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error_code).toBe("INVALID_SIGNATURE");
  });

  test('an issuer that is not a string is refused, so ["x"] and "x" never name one user', async () => {
    const user = newUserId();
    const signedBy = (iss: unknown) =>
      new SignJWT({ sub: user, iss } as Record<string, unknown>).setProtectedHeader({ alg: "HS256" }).setExpirationTime("5m").sign(secret);
    const me = async (iss: unknown) => app.call("GET", "/api/v1/me", { headers: { authorization: `Bearer ${await signedBy(iss)}` } });
    expect((await me("x")).status).toBe(200);
    for (const iss of [["x"], 5, null, {}]) {
      const refused = await me(iss);
      expect({ iss, status: refused.status, code: refused.json.error_code }).toEqual({ iss, status: 401, code: "MALFORMED_TOKEN" });
    }
  });
});

test("a token that names no key, while the key set holds several that fit, is refused with 401", async () => {
  const rotating = await startAuthServer({ rotating: true });
  try {
    const app = testClient(
      appWith({ mode: "jwks", jwksUrl: new URL(rotating.jwksUrl), issuer: ISSUER, audience: AUDIENCE, maxLifetimeS: 86_400 }),
    );
    const token = await rotating.sign({ sub: newUserId() }, { kid: null });
    const response = await app.call("GET", "/api/v1/todos", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.json.error_code).toBe("INVALID_TOKEN");
    expect(response.json.detail).toContain("kid");
  } finally {
    await rotating.stop();
  }
});

test("when the auth server answers with an error instead of its keys, requests answer 503", async () => {
  const broken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("bad gateway", { status: 502 }) });
  try {
    const app = testClient(
      appWith({
        mode: "jwks",
        jwksUrl: new URL(`http://127.0.0.1:${broken.port}/jwks`),
        issuer: ISSUER,
        audience: AUDIENCE,
        maxLifetimeS: 86_400,
      }),
    );
    const token = await authServer.sign({ sub: newUserId() });
    const response = await app.call("GET", "/api/v1/todos", { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(503);
    expect(response.json.error_code).toBe("SERVICE_UNAVAILABLE");
  } finally {
    await broken.stop(true);
  }
});

test("when the auth server's keys cannot be fetched, requests answer 503, not 401 or 500", async () => {
  const down = await startAuthServer();
  const token = await down.sign({ sub: newUserId() });
  const app = testClient(
    appWith({ mode: "jwks", jwksUrl: new URL(down.jwksUrl), issuer: ISSUER, audience: AUDIENCE, maxLifetimeS: 86_400 }),
  );
  await down.stop();
  const response = await app.call("GET", "/api/v1/todos", { headers: { authorization: `Bearer ${token}` } });
  expect(response.status).toBe(503);
  expect(response.json.error_code).toBe("SERVICE_UNAVAILABLE");
  expect(response.headers.get("retry-after")).toBe("5");
});
