// The OpenAPI document against real answers: every documented status of every operation is driven,
// and its answer carries the documented media type, a body the documented schema accepts, and every
// documented header.
import { describe, expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { componentSchemas } from "../src/api-docs/openapi";
import { createApp } from "../src/app";
import type { Config } from "../src/config";
import { newUserId, sharedDatabase, testClient } from "./support/api";
import { startAuthServer } from "./support/jwks";

type Reply = Awaited<ReturnType<ReturnType<typeof testClient>["call"]>>;
type Media = { schema: { $ref: string }; examples?: Record<string, { value: unknown }> };
type Response = { headers?: Record<string, unknown>; content?: Record<string, Media> };
type Operation = { operationId: string; responses: Record<string, Response> };

const TODOS = "/api/v1/todos";
const api = testClient();
const appWith = (config: Partial<Config>, isReady = () => true) => {
  const { database, config: base } = sharedDatabase();
  return testClient(createApp({ database, config: { ...base, ...config }, isReady }));
};
const secret = { mode: "secret" as const, secret: new TextEncoder().encode("a-development-secret-of-32-bytes!"), maxLifetimeS: 3600 };
const bearer = appWith({ auth: secret });
const down = appWith({}, () => false);
const limited = appWith({ maxTodosPerUser: 1 });
const slow = appWith({ bodyTimeoutMs: 100 });

const document = (await api.call("GET", "/docs/json")).json;
const operations: Operation[] = Object.values(document.paths as Record<string, Record<string, Operation>>).flatMap((item) =>
  Object.values(item),
);
const schemaOf = (ref: string) => componentSchemas[ref.replace("#/components/schemas/", "")] as TSchema;

async function withTodo(user = newUserId()) {
  const todo = (await api.create(user, { title: "documented" })).json;
  return { user, id: todo.id as string };
}

const badHost = { headers: { host: "bad host!" } };
const missing = `${TODOS}/00000000-0000-4000-8000-000000000000`;
const neverEnds = () => new ReadableStream({ start() {} });
const huge = { title: "x".repeat(70_000) };

/** For each operation, how to make it answer each status it documents. */
const drive: Record<string, Record<number, () => Promise<Reply>>> = {
  createTodo: {
    // A create sent again with its Idempotency-Key: the replay carries every header a 201 may carry.
    201: async () => {
      const user = newUserId();
      const headers = { "idempotency-key": crypto.randomUUID() };
      await api.call("POST", TODOS, { user, body: { title: "Buy milk" }, headers });
      return api.call("POST", TODOS, { user, body: { title: "Buy milk" }, headers });
    },
    400: () => api.call("POST", TODOS, { user: newUserId(), body: '{"title": ' }),
    401: () => bearer.call("POST", TODOS, { body: { title: "x" } }),
    408: () => slow.call("POST", TODOS, { user: newUserId(), body: neverEnds() }),
    409: async () => {
      const user = newUserId();
      await limited.create(user, { title: "the one" });
      return limited.create(user, { title: "one too many" });
    },
    413: () => api.create(newUserId(), huge),
    415: () => api.call("POST", TODOS, { user: newUserId(), body: "title=x", headers: { "content-type": "text/plain" } }),
    422: () => api.create(newUserId(), { title: "" }),
    503: () => down.create(newUserId(), { title: "x" }),
  },
  listTodos: {
    200: async () => {
      const user = newUserId();
      await api.create(user, { title: "one" });
      await api.create(user, { title: "two" });
      return api.list(user, "limit=1");
    },
    400: () => api.list(newUserId(), "limit=0"),
    401: () => bearer.call("GET", TODOS),
    503: () => down.list(newUserId()),
  },
  getTodo: {
    200: async () => {
      const { user, id } = await withTodo();
      return api.get(user, id);
    },
    304: async () => {
      const { user, id } = await withTodo();
      const etag = (await api.get(user, id)).headers.get("etag") as string;
      return api.call("GET", `${TODOS}/${id}`, { user, headers: { "if-none-match": etag } });
    },
    400: () => api.get(newUserId(), "not-a-uuid"),
    401: () => bearer.call("GET", missing),
    404: () => api.call("GET", missing, { user: newUserId() }),
    503: () => down.call("GET", missing, { user: newUserId() }),
  },
  updateTodo: {
    200: async () => {
      const { user, id } = await withTodo();
      return api.update(user, id, { is_completed: true });
    },
    400: () => api.update(newUserId(), "not-a-uuid", { is_completed: true }),
    401: () => bearer.call("PATCH", missing, { body: { is_completed: true } }),
    404: () => api.call("PATCH", missing, { user: newUserId(), body: { is_completed: true } }),
    408: async () => {
      const { user, id } = await withTodo();
      return slow.call("PATCH", `${TODOS}/${id}`, { user, body: neverEnds() });
    },
    412: async () => {
      const { user, id } = await withTodo();
      const etag = (await api.get(user, id)).headers.get("etag") as string;
      await api.update(user, id, { title: "changed by another device" });
      return api.call("PATCH", `${TODOS}/${id}`, { user, body: { is_completed: true }, headers: { "if-match": etag } });
    },
    413: async () => {
      const { user, id } = await withTodo();
      return api.update(user, id, huge);
    },
    415: async () => {
      const { user, id } = await withTodo();
      return api.call("PATCH", `${TODOS}/${id}`, { user, body: "x", headers: { "content-type": "text/plain" } });
    },
    422: async () => {
      const { user, id } = await withTodo();
      return api.update(user, id, {});
    },
    503: () => down.call("PATCH", missing, { user: newUserId(), body: { is_completed: true } }),
  },
  deleteTodo: {
    204: async () => {
      const { user, id } = await withTodo();
      return api.remove(user, id);
    },
    400: () => api.remove(newUserId(), "not-a-uuid"),
    401: () => bearer.call("DELETE", missing),
    412: async () => {
      const { user, id } = await withTodo();
      const etag = (await api.get(user, id)).headers.get("etag") as string;
      await api.update(user, id, { title: "changed by another device" });
      return api.call("DELETE", `${TODOS}/${id}`, { user, headers: { "if-match": etag } });
    },
    404: () => api.call("DELETE", missing, { user: newUserId() }),
    503: () => down.call("DELETE", missing, { user: newUserId() }),
  },
  getMe: {
    200: () => api.call("GET", "/api/v1/me", { user: newUserId() }),
    400: () => api.call("GET", "/api/v1/me", { user: newUserId(), ...badHost }),
    401: () => bearer.call("GET", "/api/v1/me"),
    // Bearer mode with the auth server away: its keys cannot be fetched.
    503: async () => {
      const authServer = await startAuthServer();
      const token = await authServer.sign({ sub: "someone" });
      await authServer.stop();
      const away = appWith({
        auth: { mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: "https://auth.test.local/", maxLifetimeS: 3600 },
      });
      return away.call("GET", "/api/v1/me", { headers: { authorization: `Bearer ${token}` } });
    },
  },
};

test("every operation's every documented status has a way to drive it here", () => {
  const documented = operations.map((op) => [op.operationId, Object.keys(op.responses).map(Number).sort()]);
  const driven = operations.map((op) => [
    op.operationId,
    Object.keys(drive[op.operationId] ?? {})
      .map(Number)
      .sort(),
  ]);
  expect(driven).toEqual(documented);
});

for (const operation of operations) {
  describe(operation.operationId, () => {
    for (const [status, documented] of Object.entries(operation.responses)) {
      test(`${status}: the real answer has the documented media type, schema and headers`, async () => {
        const reply = await drive[operation.operationId]?.[Number(status)]?.();
        expect(reply?.status).toBe(Number(status));
        if (!reply) return;
        for (const header of Object.keys(documented.headers ?? {})) expect([header, reply.headers.has(header)]).toEqual([header, true]);
        const [mediaType, media] = Object.entries(documented.content ?? {})[0] ?? [];
        if (!mediaType || !media) {
          expect(reply.text).toBe("");
          return;
        }
        expect(reply.headers.get("content-type")?.split(";")[0]).toBe(mediaType);
        const schema = schemaOf(media.schema.$ref);
        expect([...Value.Errors(schema, reply.json)].map((error) => `${error.path} ${error.message}`)).toEqual([]);
        if (media.examples) {
          const codes = Object.values(media.examples).map((example) => (example.value as { error_code: string }).error_code);
          expect(codes).toContain(reply.json.error_code);
        }
      });
    }
  });
}

test("every documented example is accepted by its schema, and names its own status", () => {
  for (const operation of operations) {
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const media of Object.values(response.content ?? {})) {
        for (const example of Object.values(media.examples ?? {})) {
          expect(Value.Check(schemaOf(media.schema.$ref), example.value)).toBe(true);
          expect((example.value as { status: number }).status).toBe(Number(status));
        }
      }
    }
  }
});

test("a 201 carries Location, the new todo's path", async () => {
  const { status, headers, json } = await api.create(newUserId(), { title: "located" });
  expect(status).toBe(201);
  expect(headers.get("location")).toBe(`${TODOS}/${json.id}`);
});
