// Drives the app in-process, the way a front end would call it.
import { createApp } from "../../src/app";
import { userIdOf } from "../../src/auth/subject";
import type { Config } from "../../src/config";
import type { TestDatabase } from "./database";
import { AUDIENCE, ISSUER, startAuthServer } from "./jwks";
import { asCaller } from "./query-audit";

export function sharedDatabase(): TestDatabase {
  const shared = (globalThis as { __todoTestDatabase?: TestDatabase }).__todoTestDatabase;
  if (!shared) throw new Error("test/support/preload.ts did not run; run the tests with `bun test`");
  return shared;
}

/** TEST_AUTH=jwks runs the whole suite with callers named by bearer JWTs from a local auth server. */
export const bearerMode = process.env.TEST_AUTH === "jwks";
const authServer = bearerMode ? await startAuthServer() : undefined;
const tokens = new Map<string, Promise<string>>();
const tokenFor = (user: string) => {
  if (!authServer) throw new Error("no auth server in header mode");
  if (!tokens.has(user)) tokens.set(user, authServer.sign({ sub: user }));
  return tokens.get(user) as Promise<string>;
};

/** The app as the suite runs it: header mode, or bearer mode against the local auth server. */
export function suiteApp(overrides: Partial<Config> = {}) {
  const { database, config } = sharedDatabase();
  const auth = authServer
    ? { mode: "jwks" as const, jwksUrl: new URL(authServer.jwksUrl), issuer: ISSUER, audience: AUDIENCE, maxLifetimeS: 86_400 }
    : config.auth;
  return createApp({ database, config: { ...config, auth, ...overrides } });
}

// In bearer mode a test's user is the id the API stores their todos under, and the token carries the
// subject that names it; so a test compares user_id with its user in either mode.
const subjects = new Map<string, string>();

/** A new user: in bearer mode, the id their token's subject names. */
export function newUserId(): string {
  const subject = crypto.randomUUID();
  if (!bearerMode) return subject;
  const id = userIdOf(ISSUER, subject);
  subjects.set(id, subject);
  return id;
}

/** What names `user` in a request: the subject behind a user from newUserId, else the value itself. */
export const subjectOf = (user: string) => subjects.get(user.toLowerCase()) ?? user;
/** The id the API stores `user`'s todos under. */
export const storedId = (user: string) => {
  if (!bearerMode) return user.toLowerCase();
  return subjects.has(user.toLowerCase()) ? user.toLowerCase() : userIdOf(ISSUER, user);
};

type Options = { user?: string | null; body?: unknown; headers?: Record<string, string> };

/** What names `user` in a request: X-User-Id always, and in bearer mode a token for the same user (a bearer app must ignore the header). */
export async function callerHeaders(user: string): Promise<Record<string, string>> {
  const h: Record<string, string> = { "x-user-id": user };
  if (bearerMode) h.authorization = `Bearer ${await tokenFor(subjectOf(user))}`;
  return h;
}

/** A body as text; of an event stream, which does not end, only what has arrived at first. */
async function textOf(response: Response): Promise<string> {
  if (!response.headers.get("content-type")?.startsWith("text/event-stream") || !response.body) return response.text();
  const reader = response.body.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

export function testClient(app: { handle(request: Request): Promise<Response> } = suiteApp()) {
  async function call(method: string, path: string, { user, body, headers = {} }: Options = {}) {
    const h: Record<string, string> = user ? await callerHeaders(user) : {};
    const init: RequestInit = { method, headers: h };
    if (body !== undefined) {
      // A stream is sent as it is, chunked: a body that never ends, for one.
      init.body = typeof body === "string" || body instanceof ReadableStream ? body : JSON.stringify(body);
      h["content-type"] = "application/json";
    }
    for (const [name, value] of Object.entries(headers)) h[name.toLowerCase()] = value;
    const request = new Request(`http://localhost${path}`, init);
    const response = await (user ? asCaller(storedId(user), () => app.handle(request)) : app.handle(request));
    const text = await textOf(response);
    const json = text && /json/.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, text, json };
  }
  return {
    app,
    call,
    create: (user: string, body: unknown) => call("POST", "/api/v1/todos", { user, body }),
    /** One page; `query` is the query string without its `?`, e.g. "limit=7&completed=true". */
    list: (user: string, query = "") => call("GET", `/api/v1/todos${query && `?${query}`}`, { user }),
    get: (user: string, id: string) => call("GET", `/api/v1/todos/${id}`, { user }),
    update: (user: string, id: string, body: unknown) => call("PATCH", `/api/v1/todos/${id}`, { user, body }),
    remove: (user: string, id: string) => call("DELETE", `/api/v1/todos/${id}`, { user }),
  };
}
