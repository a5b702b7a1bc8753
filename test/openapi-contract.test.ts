// The OpenAPI document against real answers: every documented status of every operation is driven,
// and its answer carries the documented media type, a body the documented schema accepts, and every
// documented header; and every documented example is, to the letter, what the service answers.
import { describe, expect, test } from "bun:test";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { SignJWT } from "jose";
import { componentSchemas } from "../src/api-docs/openapi";
import { createApp } from "../src/app";
import { type Config, readConfig } from "../src/config";
import { TITLE_MAX_LENGTH } from "../src/db/schema";
import { replacement } from "../src/tasks/model";
import { MAX_FEED_LIMIT, MAX_PAGE_LIMIT } from "../src/todos/model";
import { forgetOldDeletes } from "../src/todos/store";
import { callerHeaders, newUserId, sharedDatabase, subjectOf, testClient } from "./support/api";
import { ISSUER, startAuthServer } from "./support/jwks";

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

// The todo-app front end's routes: the path names the caller by their subject, which is the token's in
// the suite's app when the suite runs in bearer mode, and the X-User-Id in the header-mode apps here.
type Client = ReturnType<typeof testClient>;
const tasksOf = (user: string, client: Client = api) => `/api/${client === api ? subjectOf(user) : user}/tasks`;
async function withTask(user = newUserId()) {
  const { id } = await withTodo(user);
  return { user, id, path: `${tasksOf(user)}/${id}` };
}
const missingTask = (user: string, client: Client = api) => `${tasksOf(user, client)}/00000000-0000-4000-8000-000000000000`;
/** A task changed by another device since `etag` was read: a change sent with it is refused. */
async function staleTask(user = newUserId()) {
  const { id, path } = await withTask(user);
  const etag = (await api.call("GET", path, { user })).headers.get("etag") as string;
  await api.update(user, id, { title: "changed by another device" });
  return { user, path, headers: { "if-match": etag } };
}

/** Each operation of a task by id, answered for 400, 401, 403, 404, 412 and 503 alike. */
function byTask(method: string, suffix: string, body?: unknown) {
  return {
    400: () => {
      const user = newUserId();
      return api.call(method, `${tasksOf(user)}/not-a-uuid${suffix}`, { user, body });
    },
    401: () => bearer.call(method, `/api/someone/tasks/00000000-0000-4000-8000-000000000000${suffix}`, { body }),
    403: async () => {
      const { path } = await withTask();
      return api.call(method, `${path}${suffix}`, { user: newUserId(), body });
    },
    404: async () => {
      const user = newUserId();
      return api.call(method, `${missingTask(user)}${suffix}`, { user, body });
    },
    412: async () => {
      const { user, path, headers } = await staleTask();
      return api.call(method, `${path}${suffix}`, { user, body, headers });
    },
    503: async () => {
      const user = newUserId();
      return down.call(method, `${missingTask(user, down)}${suffix}`, { user, body });
    },
  };
}

/** A route that only names the caller: its 200, 400, 401, and its 503 (bearer mode, the auth server away). */
function callerOnly(path: string) {
  return {
    200: () => api.call("GET", path, { user: newUserId() }),
    400: () => api.call("GET", path, { user: newUserId(), ...badHost }),
    401: () => bearer.call("GET", path),
    503: async () => {
      const authServer = await startAuthServer();
      const token = await authServer.sign({ sub: "someone" });
      await authServer.stop();
      const away = appWith({
        auth: { mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: "https://auth.test.local/", maxLifetimeS: 3600 },
      });
      return away.call("GET", path, { headers: { authorization: `Bearer ${token}` } });
    },
  };
}

/** For each operation, how to make it answer each status it documents. */
const drive: Record<string, Record<number, () => Promise<Reply>>> = {
  createTask: {
    // Replayed with its Idempotency-Key: the answer carries every header a 201 may carry.
    201: async () => {
      const user = newUserId();
      const headers = { "idempotency-key": crypto.randomUUID() };
      await api.call("POST", tasksOf(user), { user, body: { title: "Buy milk", priority: "High" }, headers });
      return api.call("POST", tasksOf(user), { user, body: { title: "Buy milk", priority: "High" }, headers });
    },
    400: () => {
      const user = newUserId();
      return api.call("POST", tasksOf(user), { user, body: { title: "x" }, ...badHost });
    },
    401: () => bearer.call("POST", "/api/someone/tasks", { body: { title: "x" } }),
    403: () => api.call("POST", tasksOf(newUserId()), { user: newUserId(), body: { title: "x" } }),
    408: () => {
      const user = newUserId();
      return slow.call("POST", tasksOf(user, slow), { user, body: neverEnds() });
    },
    409: async () => {
      const user = newUserId();
      await limited.create(user, { title: "the one" });
      return limited.call("POST", tasksOf(user, limited), { user, body: { title: "one too many" } });
    },
    413: () => {
      const user = newUserId();
      return api.call("POST", tasksOf(user), { user, body: huge });
    },
    415: () => {
      const user = newUserId();
      return api.call("POST", tasksOf(user), { user, body: "title=x", headers: { "content-type": "text/plain" } });
    },
    422: () => {
      const user = newUserId();
      return api.call("POST", tasksOf(user), { user, body: { title: "x", priority: "Urgent" } });
    },
    503: () => {
      const user = newUserId();
      return down.call("POST", tasksOf(user, down), { user, body: { title: "x" } });
    },
  },
  listTasks: {
    200: async () => {
      const { user } = await withTask();
      return api.call("GET", tasksOf(user), { user });
    },
    304: async () => {
      const { user } = await withTask();
      const etag = (await api.call("GET", tasksOf(user), { user })).headers.get("etag") as string;
      return api.call("GET", tasksOf(user), { user, headers: { "if-none-match": etag } });
    },
    400: () => api.call("GET", tasksOf(newUserId()), { user: newUserId(), ...badHost }),
    401: () => bearer.call("GET", "/api/someone/tasks"),
    403: () => api.call("GET", tasksOf(newUserId()), { user: newUserId() }),
    503: () => {
      const user = newUserId();
      return down.call("GET", tasksOf(user, down), { user });
    },
  },
  taskMetrics: {
    200: async () => {
      const { user } = await withTask();
      return api.call("GET", `${tasksOf(user)}/metrics`, { user });
    },
    400: () => api.call("GET", `${tasksOf(newUserId())}/metrics`, { user: newUserId(), ...badHost }),
    401: () => bearer.call("GET", "/api/someone/tasks/metrics"),
    403: () => api.call("GET", `${tasksOf(newUserId())}/metrics`, { user: newUserId() }),
    503: () => {
      const user = newUserId();
      return down.call("GET", `${tasksOf(user, down)}/metrics`, { user });
    },
  },
  getTask: {
    // A read has no precondition to fail.
    ...Object.fromEntries(Object.entries(byTask("GET", "")).filter(([status]) => status !== "412")),
    200: async () => {
      const { user, path } = await withTask();
      return api.call("GET", path, { user });
    },
    304: async () => {
      const { user, path } = await withTask();
      const etag = (await api.call("GET", path, { user })).headers.get("etag") as string;
      return api.call("GET", path, { user, headers: { "if-none-match": etag } });
    },
  },
  replaceTask: {
    ...byTask("PUT", "", replacement),
    200: async () => {
      const { user, path } = await withTask();
      return api.call("PUT", path, { user, body: replacement });
    },
    408: async () => {
      const { user, path } = await withTask();
      return slow.call("PUT", path.replace(subjectOf(user), user), { user, body: neverEnds() });
    },
    413: async () => {
      const { user, path } = await withTask();
      return api.call("PUT", path, { user, body: huge });
    },
    415: async () => {
      const { user, path } = await withTask();
      return api.call("PUT", path, { user, body: "x", headers: { "content-type": "text/plain" } });
    },
    422: async () => {
      const { user, path } = await withTask();
      return api.call("PUT", path, { user, body: { title: "only a title" } });
    },
  },
  toggleTask: {
    ...byTask("PATCH", "/complete"),
    200: async () => {
      const { user, path } = await withTask();
      return api.call("PATCH", `${path}/complete`, { user });
    },
  },
  completeTask: {
    ...byTask("POST", "/complete"),
    200: async () => {
      const { user, path } = await withTask();
      return api.call("POST", `${path}/complete`, { user });
    },
  },
  deleteTask: {
    ...byTask("DELETE", ""),
    204: async () => {
      const { user, path } = await withTask();
      return api.call("DELETE", path, { user });
    },
  },
  getProfile: callerOnly("/api/me"),
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
    304: async () => {
      const user = newUserId();
      await api.create(user, { title: "one" });
      const etag = (await api.list(user)).headers.get("etag") as string;
      return api.call("GET", TODOS, { user, headers: { "if-none-match": etag } });
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
  getMe: callerOnly("/api/v1/me"),
  updateTodos: {
    200: async () => {
      const { user } = await withTodo();
      return api.call("PATCH", `${TODOS}?all=true`, { user, body: { is_completed: true } });
    },
    400: () => api.call("PATCH", TODOS, { user: newUserId(), body: { is_completed: true } }),
    401: () => bearer.call("PATCH", `${TODOS}?all=true`, { body: { is_completed: true } }),
    408: () => slow.call("PATCH", `${TODOS}?all=true`, { user: newUserId(), body: neverEnds() }),
    413: () => api.call("PATCH", `${TODOS}?all=true`, { user: newUserId(), body: huge }),
    415: () => api.call("PATCH", `${TODOS}?all=true`, { user: newUserId(), body: "x", headers: { "content-type": "text/plain" } }),
    422: () => api.call("PATCH", `${TODOS}?all=true`, { user: newUserId(), body: {} }),
    503: () => down.call("PATCH", `${TODOS}?all=true`, { user: newUserId(), body: { is_completed: true } }),
  },
  deleteTodos: {
    200: async () => {
      const { user } = await withTodo();
      return api.call("DELETE", `${TODOS}?completed=false`, { user });
    },
    400: () => api.call("DELETE", TODOS, { user: newUserId() }),
    401: () => bearer.call("DELETE", `${TODOS}?all=true`),
    503: () => down.call("DELETE", `${TODOS}?all=true`, { user: newUserId() }),
  },
  listTodoChanges: {
    200: async () => {
      const { user } = await withTodo();
      return api.call("GET", `${TODOS}/changes`, { user });
    },
    400: () => api.call("GET", `${TODOS}/changes?since=not-a-token`, { user: newUserId() }),
    401: () => bearer.call("GET", `${TODOS}/changes`),
    410: async () => {
      const { user, since } = await forgottenSince();
      return api.call("GET", `${TODOS}/changes?since=${since}`, { user });
    },
    503: () => down.call("GET", `${TODOS}/changes`, { user: newUserId() }),
  },
  streamTodoChanges: {
    200: async () => {
      const { user } = await withTodo();
      return api.call("GET", `${TODOS}/events`, { user });
    },
    400: () => api.call("GET", `${TODOS}/events`, { user: newUserId(), headers: { "last-event-id": "not-a-token" } }),
    401: () => bearer.call("GET", `${TODOS}/events`),
    410: async () => {
      const { user, since } = await forgottenSince();
      return api.call("GET", `${TODOS}/events`, { user, headers: { "last-event-id": since } });
    },
    429: () => tooManyStreams(api, newUserId(), sharedDatabase().config.sync.maxStreamsPerUser),
    503: () => down.call("GET", `${TODOS}/events`, { user: newUserId() }),
  },
};

/** A user, and a sync token older than the deletes forgotten since (as SYNC_RETENTION's sweep forgets them). */
async function forgottenSince() {
  const { user, id } = await withTodo();
  const since = (await api.call("GET", `${TODOS}/changes`, { user })).json.next_since as string;
  await api.remove(user, id);
  await api.create(user, { title: "after the delete" });
  await Bun.sleep(5);
  await forgetOldDeletes(sharedDatabase().database.db, 0);
  return { user, since };
}

/** Opens `open` streams for `user` and leaves them open, then asks for one more; closes them all after. */
async function tooManyStreams(client: Client, user: string, open: number, other = () => user) {
  const held = [];
  for (let i = 0; i < open; i++) {
    const request = new Request(`http://localhost${TODOS}/events`, { headers: await callerHeaders(other()) });
    held.push(await client.app.handle(request));
  }
  try {
    return await client.call("GET", `${TODOS}/events`, { user });
  } finally {
    for (const response of held) await response.body?.cancel();
  }
}

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
        // An event stream's first words: how soon to reconnect.
        if (mediaType === "text/event-stream") return expect(reply.text).toStartWith("retry: ");
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

// The examples are checked on apps configured through the environment with limits none of the
// defaults, so an example with a default written into it (10000 ms, 65536 bytes, 10000 todos) fails.
const memoryEnv = { PGLITE_DATA_DIR: "memory://" };
const unusualEnv = {
  BODY_LIMIT_BYTES: "4099",
  BODY_TIMEOUT_MS: "137",
  MAX_TODOS_PER_USER: "3",
  MAX_STREAMS_PER_USER: "2",
  MAX_STREAMS: "4",
};
const { bodyLimitBytes, bodyTimeoutMs, maxTodosPerUser, sync } = readConfig({ ...memoryEnv, ...unusualEnv });
const limits = { bodyLimitBytes, bodyTimeoutMs, maxTodosPerUser, sync };
const shown = appWith(limits);
const shownBearer = appWith({ ...limits, auth: secret });
const shownDown = appWith(limits, () => false);
const shownDocument = (await shown.call("GET", "/docs/json")).json;

describe("every example in the document is what the service answers", () => {
  const MISSING_ID = "00000000-0000-4000-8000-000000000000";

  test("the limits here are none of the defaults", () => {
    const defaults = readConfig(memoryEnv);
    const [shownLimits, defaultLimits] = [limits, defaults].map((each) => [
      each.bodyLimitBytes,
      each.bodyTimeoutMs,
      each.maxTodosPerUser,
      each.sync.maxStreamsPerUser,
      each.sync.maxStreams,
    ]);
    expect(defaultLimits).not.toContainAnyValues(shownLimits as number[]);
  });

  type Target = { operationId: string; method: string; path: string };
  type Example = { value: Record<string, unknown> };
  const targets: (Target & { responses: Record<string, Response> })[] = Object.entries(
    shownDocument.paths as Record<string, Record<string, Operation>>,
  ).flatMap(([path, item]) =>
    Object.entries(item).map(([method, { operationId, responses }]) => ({ operationId, method: method.toUpperCase(), path, responses })),
  );

  /** A body the operation accepts, if it takes one. */
  const bodyOf = ({ operationId }: Target) =>
    ({
      createTodo: { title: "shown" },
      updateTodo: { is_completed: true },
      updateTodos: { is_completed: true },
      createTask: { title: "shown" },
      replaceTask: replacement,
    })[operationId as "createTodo"];
  /**
   * The target's path, with {id} a todo of `user`'s (or one nobody has), and {user_id} the subject of
   * `caller` (the owner of the todo, unless another is named).
   */
  async function pathOf({ path }: Target, user?: string, caller = user) {
    // The apps here are in header mode (or refuse the token first): the subject is the X-User-Id.
    const named = path.replace("{user_id}", caller ?? "someone");
    if (!named.includes("{id}")) return named;
    const id = user ? (await shown.create(user, { title: "shown" })).json.id : MISSING_ID;
    return named.replace("{id}", id);
  }
  async function staleEtag(target: Target, user: string) {
    const path = await pathOf(target, user);
    // The todo's id: the last UUID in the path (a task's path names its user first).
    const id = path.match(/[0-9a-f]{8}-[0-9a-f-]{27}/g)?.at(-1) as string;
    const etag = (await shown.get(user, id)).headers.get("etag") as string;
    await shown.update(user, id, { title: "changed by another device" });
    return { path, headers: { "if-match": etag } };
  }

  /** How to provoke each example, by its name, on any operation that documents it. */
  const provoke: Record<string, (target: Target) => Promise<Reply>> = {
    missingUser: async (target) => shown.call(target.method, await pathOf(target), { body: bodyOf(target) }),
    badHost: async (target) =>
      shown.call(target.method, await pathOf(target), { user: newUserId(), body: bodyOf(target), headers: { host: "bad host!" } }),
    badUserId: async (target) => shown.call(target.method, await pathOf(target), { user: "not-a-uuid", body: bodyOf(target) }),
    badId: (target) => {
      const user = newUserId();
      const path = target.path.replace("{user_id}", user).replace("{id}", "not-a-uuid");
      return shown.call(target.method, path, { user, body: bodyOf(target) });
    },
    badQuery: (target) => shown.call(target.method, `${target.path}?limit=${MAX_PAGE_LIMIT + 1}`, { user: newUserId() }),
    noFilter: async (target) => shown.call(target.method, target.path, { user: newUserId(), body: bodyOf(target) }),
    allWithFilter: async (target) =>
      shown.call(target.method, `${target.path}?all=true&completed=true`, { user: newUserId(), body: bodyOf(target) }),
    badLimit: (target) => shown.call(target.method, `${target.path}?limit=${MAX_FEED_LIMIT + 1}`, { user: newUserId() }),
    forgotten: async (target) => {
      const { user, since } = await forgottenSince();
      return shown.call(target.method, `${target.path}?since=${since}`, { user });
    },
    tooMany: () => tooManyStreams(shown, newUserId(), limits.sync.maxStreamsPerUser),
    // Streams of as many users as the instance serves, then one more user's.
    streamsFull: () => tooManyStreams(shown, newUserId(), limits.sync.maxStreams, newUserId),
    missingToken: async (target) => shownBearer.call(target.method, await pathOf(target), { body: bodyOf(target) }),
    expired: async (target) => {
      const now = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ sub: "someone" })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuedAt(now - 7200)
        .setExpirationTime(now - 3600)
        .sign(secret.secret);
      return shownBearer.call(target.method, await pathOf(target), { body: bodyOf(target), headers: { authorization: `Bearer ${jwt}` } });
    },
    slowBody: async (target) => {
      const user = newUserId();
      return shown.call(target.method, await pathOf(target, user), { user, body: neverEnds() });
    },
    tooLarge: async (target) => {
      const user = newUserId();
      return shown.call(target.method, await pathOf(target, user), { user, body: { title: "x".repeat(limits.bodyLimitBytes) } });
    },
    notJson: async (target) => {
      const user = newUserId();
      return shown.call(target.method, await pathOf(target, user), { user, body: "title=x", headers: { "content-type": "text/plain" } });
    },
    titleTooLong: async (target) => {
      const user = newUserId();
      const body = { ...bodyOf(target), title: "x".repeat(TITLE_MAX_LENGTH + 1) };
      return shown.call(target.method, await pathOf(target, user), { user, body });
    },
    keyReused: async (target) => {
      const user = newUserId();
      const headers = { "idempotency-key": crypto.randomUUID() };
      const path = await pathOf(target, undefined, user);
      await shown.call(target.method, path, { user, body: { title: "first" }, headers });
      return shown.call(target.method, path, { user, body: { title: "second" }, headers });
    },
    limitReached: async (target) => {
      const user = newUserId();
      for (let i = 0; i < limits.maxTodosPerUser; i++) await shown.create(user, { title: `todo ${i}` });
      return shown.call(target.method, await pathOf(target, undefined, user), { user, body: bodyOf(target) });
    },
    notFound: async (target) => {
      const user = newUserId();
      return shown.call(target.method, await pathOf(target, undefined, user), { user, body: bodyOf(target) });
    },
    notYours: async (target) => shown.call(target.method, await pathOf(target, newUserId()), { user: newUserId(), body: bodyOf(target) }),
    changedSince: async (target) => {
      const user = newUserId();
      const { path, headers } = await staleEtag(target, user);
      return shown.call(target.method, path, { user, body: bodyOf(target), headers });
    },
    databaseDown: async (target) => {
      const user = newUserId();
      // A bulk change reaches the database only with a filter or all=true.
      const all = target.operationId.endsWith("Todos") && target.method !== "GET" && target.method !== "POST" ? "?all=true" : "";
      return shownDown.call(target.method, `${await pathOf(target, undefined, user)}${all}`, { user, body: bodyOf(target) });
    },
    // Bearer mode with the auth server away: its keys cannot be fetched.
    keysAway: async (target) => {
      const authServer = await startAuthServer();
      const jwt = await authServer.sign({ sub: "someone" });
      await authServer.stop();
      const away = appWith({ ...limits, auth: { mode: "jwks", jwksUrl: new URL(authServer.jwksUrl), issuer: ISSUER, maxLifetimeS: 3600 } });
      return away.call(target.method, await pathOf(target), { body: bodyOf(target), headers: { authorization: `Bearer ${jwt}` } });
    },
  };

  /** Examples no request can provoke, and why: listed in the test output as todos, not skipped unseen. */
  const unprovoked: Record<string, string> = {};

  for (const target of targets) {
    for (const [status, response] of Object.entries(target.responses)) {
      const examples = Object.entries(response.content?.["application/problem+json"]?.examples ?? {}) as [string, Example][];
      for (const [name, example] of examples) {
        const label = `${target.operationId} ${status} ${name}`;
        const why = unprovoked[label];
        if (why) {
          test.todo(`${label}: not provoked here: ${why}`);
          continue;
        }
        test(`${label}: the real answer's body is the example's`, async () => {
          expect([name, typeof provoke[name]]).toEqual([name, "function"]);
          const reply = await (provoke[name] as (target: Target) => Promise<Reply>)(target);
          expect({ status: reply.status, body: reply.json }).toEqual({ status: Number(status), body: example.value });
        });
      }
    }
  }
});
