// The security review's findings, each as a request that used to get through: now a 4xx
// problem+json that changes nothing (or refused by configuration).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app";
import type { Config } from "../src/config";
import { createLogger } from "../src/log";
import type { TodoStore } from "../src/todos/store";
import { newUserId, sharedDatabase, testClient } from "./support/api";
import { listeningAddresses, nonLoopbackIPv4, tryConnect } from "./support/listening-sockets";
import { failedStart, startService } from "./support/service";

const TODOS = "/api/v1/todos";
const appWith = (config: Partial<Config> = {}, seams: { store?: TodoStore } = {}, logLines: string[] = []) => {
  const shared = sharedDatabase();
  const logger = createLogger("info", (line) => logLines.push(line));
  return createApp({ database: shared.database, config: { ...shared.config, ...config }, logger, ...seams });
};
const api = testClient(appWith());

/** Sends these exact bytes to a server and returns what comes back before it closes the connection. */
function rawRequest(port: number, request: string, { writes = [] as { afterMs: number; data: string }[] } = {}): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(request);
      for (const { afterMs, data } of writes) setTimeout(() => socket.writable && socket.write(data), afterMs);
    });
    socket.setTimeout(8000, () => socket.destroy());
    socket.on("data", (data) => {
      received += data.toString("latin1");
      if (/\r\n\r\n/.test(received) && /content-length: (\d+)/i.test(received)) {
        const length = Number(/content-length: (\d+)/i.exec(received)?.[1]);
        if (Buffer.byteLength(received.split("\r\n\r\n").slice(1).join("\r\n\r\n"), "latin1") >= length) socket.end();
      }
    });
    socket.on("close", () => resolve(received));
    socket.on("error", () => {});
  });
}

const statusOf = (reply: string) => Number(reply.slice(9, 12));
const bodyOf = (reply: string) => JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));

describe("1. the Host header cannot move a request into the API", () => {
  let server: ReturnType<ReturnType<typeof createApp>["listen"]>;
  let port: number;
  beforeAll(() => {
    server = appWith().listen({ port: 0, hostname: "127.0.0.1" });
    port = server.server?.port ?? 0;
  });
  afterAll(() => server.stop());

  test.each([
    ["GET", "/x"],
    ["PATCH", "/z"],
    ["DELETE", "/docs"],
  ])("%s %s/api/v1/todos/<id> with Host: api answers 404 and the todo is untouched", async (method, prefix) => {
    const user = newUserId();
    const todo = (await api.create(user, { title: "mine" })).json;
    const body = method === "PATCH" ? '{"title":"changed"}' : "";
    const reply = await rawRequest(
      port,
      `${method} ${prefix}${TODOS}/${todo.id} HTTP/1.1\r\nHost: api\r\nX-User-Id: ${user}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(statusOf(reply)).toBe(404);
    expect(reply).toContain("application/problem+json");
    // Only the docs page itself goes without these; a path that merely starts with /docs does not.
    expect(reply.toLowerCase()).toContain("cache-control: no-store");
    expect((await api.get(user, todo.id)).json).toEqual(todo);
  });

  test.each([
    ["GET", "/docs/../api/v1/todos/:id"],
    ["GET", "/docs/%2e%2e/api/v1/todos/:id"],
    ["GET", "/docs/.%2e/api/v1/todos/:id"],
    ["GET", "/health/../api/v1/todos/:id"],
    ["GET", "/docs\\..\\api\\v1\\todos\\:id"],
    ["PATCH", "/docs/../api/v1/todos/:id"],
    ["DELETE", "/x/../api/v1/todos/:id"],
    ["GET", "/api/v1/todos/../todos/:id"],
  ])("%s %s (a spelling the URL parser resolves into the API) answers 404 and the todo is untouched", async (method, spelling) => {
    const user = newUserId();
    const todo = (await api.create(user, { title: "mine" })).json;
    const body = method === "PATCH" ? '{"title":"changed"}' : "";
    const reply = await rawRequest(
      port,
      `${method} ${spelling.replace(":id", todo.id)} HTTP/1.1\r\nHost: localhost\r\nX-User-Id: ${user}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(statusOf(reply)).toBe(404);
    expect(bodyOf(reply).error_code).toBe("NOT_FOUND");
    expect((await api.get(user, todo.id)).json).toEqual(todo);
  });

  test("the same todo by its plain path still answers over the wire", async () => {
    const user = newUserId();
    const todo = (await api.create(user, { title: "mine" })).json;
    const reply = await rawRequest(
      port,
      `GET ${TODOS}/${todo.id} HTTP/1.1\r\nHost: localhost\r\nX-User-Id: ${user}\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(reply)).toBe(200);
    expect(bodyOf(reply)).toEqual(todo);
  });

  test.each([
    ["empty", "Host: \r\n"],
    ["with a space", "Host: a b\r\n"],
    ["with a slash", "Host: x/y\r\n"],
    ["given twice", "Host: a\r\nHost: b\r\n"],
    ["with a port out of range", "Host: example.com:99999\r\n"],
  ])("a Host header %s answers 400 problem+json with the security headers and a request id", async (_, host) => {
    const reply = await rawRequest(port, `GET ${TODOS} HTTP/1.1\r\n${host}X-User-Id: ${newUserId()}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(reply)).toBe(400);
    expect(bodyOf(reply).error_code).toBe("BAD_REQUEST");
    expect(reply.toLowerCase()).toContain("cache-control: no-store");
    expect(reply.toLowerCase()).toContain("x-content-type-options: nosniff");
    expect(reply.toLowerCase()).toMatch(/x-request-id: [\w-]+/);
  });
});

test("the path check is for a listening app only: in process, before listening and after stopping, routes answer", async () => {
  const app = appWith();
  const health = async () => (await app.handle(new Request("http://localhost/health"))).status;
  expect(await health()).toBe(200);
  const server = app.listen({ port: 0, hostname: "127.0.0.1" });
  // While it listens, a request Bun's router did not route is refused, in process as over the wire:
  // nothing tells the two apart (test/http/bun-routing.test.ts).
  expect(await health()).toBe(404);
  await server.stop();
  expect(await health()).toBe(200);
});

test("2. the service as started never shows Bun's debug page: an empty Host is a 400 problem+json", async () => {
  const service = await startService({ PGLITE_DATA_DIR: "memory://", HOST: "127.0.0.1" });
  try {
    const port = Number(new URL(service.base).port);
    const reply = await rawRequest(port, "GET /api/v1/todos HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n");
    expect(statusOf(reply)).toBe(400);
    expect(reply).toContain("application/problem+json");
    expect(reply).not.toMatch(/<html|node_modules|\.ts:\d+/i);
  } finally {
    await service.stop();
  }
}, 30_000);

describe("3. odd values are described, never thrown while being described", () => {
  const odd = [
    ["title", '{"title":{"toString":1}}'],
    ["description", '{"title":"t","description":{"valueOf":1,"toString":2}}'],
  ];
  test.each(odd)("POST with an object as %s answers 422 naming the field, and logs no error", async (field, body) => {
    const logLines: string[] = [];
    const client = testClient(appWith({}, {}, logLines));
    const user = newUserId();
    const reply = await client.call("POST", TODOS, { user, body });
    expect(reply.status).toBe(422);
    expect(reply.json.field_errors.map((error: { field: string }) => error.field)).toContain(field);
    expect(logLines.filter((line) => JSON.parse(line).level === "error")).toEqual([]);
    expect((await client.list(user)).json.count).toBe(0);
  });

  test("PATCH with such values answers 422 and changes nothing", async () => {
    const user = newUserId();
    const todo = (await api.create(user, { title: "kept" })).json;
    for (const body of ['{"title":{"toString":1}}', '{"is_completed":{"toString":1}}']) {
      expect((await api.call("PATCH", `${TODOS}/${todo.id}`, { user, body })).status).toBe(422);
    }
    expect((await api.get(user, todo.id)).json).toEqual(todo);
  });
});

describe("4. every answer is a problem, and bodies that are ignored are not read", () => {
  test("an unknown docs asset is a 404 problem that echoes nothing of the path", async () => {
    const reply = await api.call("GET", "/docs/assets/%3Cscript%3Ealert(1)%3C%2Fscript%3E.js");
    expect(reply.status).toBe(404);
    expect(reply.headers.get("content-type")).toBe("application/problem+json");
    expect(reply.text).not.toMatch(/script|alert/);
  });

  test("an unknown path is a 404 problem that echoes nothing of the path", async () => {
    const reply = await api.call("GET", "/%3Cb%3Ehello%3C%2Fb%3E");
    expect(reply.status).toBe(404);
    expect(reply.json.error_code).toBe("NOT_FOUND");
    expect(reply.text).not.toMatch(/hello|<b>/);
  });

  test("a DELETE's body is never read: not even one chunk is pulled, and `{` is no error", async () => {
    const user = newUserId();
    const todo = (await api.create(user, { title: "to delete" })).json;
    let pulled = false;
    // highWaterMark 0: the stream itself pulls nothing until someone reads.
    const body = new ReadableStream(
      {
        pull(controller) {
          pulled = true;
          controller.enqueue(new TextEncoder().encode("{"));
          controller.close();
        },
      },
      { highWaterMark: 0 },
    );
    const request = new Request(`http://localhost${TODOS}/${todo.id}`, {
      method: "DELETE",
      headers: { "x-user-id": user, "content-type": "application/json" },
      body,
    });
    const response = await api.app.handle(request);
    expect(response.status).toBe(204);
    expect(pulled).toBe(false);
  });
});

describe("5. titles that look empty", () => {
  test.each([
    ["zero-width space", "\u200b"],
    ["word joiner", "\u2060"],
    ["byte-order mark", "\ufeff"],
    ["zero-width joiners and spaces", "\u200d \u200c"],
    ["Hangul filler", "\u3164"],
    ["blank braille pattern", "\u2800"],
    ["pair of combining accents with nothing to sit on", "\u0301\u0301"],
  ])("a title of only a %s is refused", async (_, title) => {
    const user = newUserId();
    const reply = await api.call("POST", TODOS, { user, body: { title } });
    expect(reply.status).toBe(422);
    expect(reply.json.field_errors[0]).toMatchObject({ field: "title", message: expect.stringContaining("visible character") });
  });

  test.each([
    ["title", { title: "invoice\u202Efdp.exe" }],
    ["title", { title: "a\u2066b\u2069" }],
    ["description", { title: "ok", description: "line\u202Dtwo" }],
  ])("a bidirectional override or isolate in the %s is refused", async (field, body) => {
    const reply = await api.call("POST", TODOS, { user: newUserId(), body });
    expect(reply.status).toBe(422);
    expect(reply.json.field_errors[0]).toMatchObject({ field, message: expect.stringContaining("bidirectional") });
  });

  test("visible text with a zero-width joiner inside (an emoji sequence) is kept as sent", async () => {
    const title = "family 👨\u200d👩\u200d👧";
    const reply = await api.call("POST", TODOS, { user: newUserId(), body: { title } });
    expect(reply.status).toBe(201);
    expect(reply.json.title).toBe(title);
  });
});

describe("6. one user's weight", () => {
  test("past MAX_TODOS_PER_USER a create is 409 TODO_LIMIT_REACHED; deleting makes room; others are unaffected", async () => {
    const limited = testClient(appWith({ maxTodosPerUser: 3 }));
    const user = newUserId();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await limited.create(user, { title: `todo ${i}` })).json.id);
    const refused = await limited.create(user, { title: "one too many" });
    expect(refused.status).toBe(409);
    expect(refused.json.error_code).toBe("TODO_LIMIT_REACHED");
    expect(refused.json.detail).toContain("3");
    expect((await limited.list(user)).json.count).toBe(3);
    expect((await limited.create(newUserId(), { title: "someone else" })).status).toBe(201);
    expect((await limited.remove(user, ids[0] as string)).status).toBe(204);
    expect((await limited.create(user, { title: "room again" })).status).toBe(201);
  });

  test("a body that trickles in is answered 408 once BODY_TIMEOUT_MS has passed, and nothing is stored", async () => {
    const server = appWith({ bodyTimeoutMs: 300 }).listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const user = newUserId();
      const started = performance.now();
      const reply = await rawRequest(
        server.server?.port ?? 0,
        `POST ${TODOS} HTTP/1.1\r\nHost: localhost\r\nX-User-Id: ${user}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"ti`,
        { writes: [{ afterMs: 2000, data: 'tle":"slow"}' }] },
      );
      expect(statusOf(reply)).toBe(408);
      expect(bodyOf(reply).error_code).toBe("REQUEST_TIMEOUT");
      // Not a speed assertion: only that the answer came before the rest of the body was sent.
      expect(performance.now() - started).toBeLessThan(2000);
      expect((await api.list(user)).json.count).toBe(0);
    } finally {
      server.stop(true);
    }
  });
});

describe("8. tokens", () => {
  const secret = "a-development-secret-of-32-bytes!";
  const tokens = testClient(appWith({ auth: { mode: "secret", secret: new TextEncoder().encode(secret), maxLifetimeS: 24 * 3600 } }));
  const now = Math.floor(Date.now() / 1000);
  const b64 = (text: string) => Buffer.from(text).toString("base64url");
  // Hand-made, because a JWT library never writes a member twice.
  const sign = (header: string, payload: string) => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
  };
  const call = (token: string) => tokens.call("GET", TODOS, { headers: { authorization: `Bearer ${token}` } });
  const [alice, mallory] = [newUserId(), newUserId()];

  test("a well-formed token is accepted (the hand-made signer is right)", async () => {
    expect((await call(sign('{"alg":"HS256"}', `{"sub":"${alice}","exp":${now + 300},"iat":${now}}`))).status).toBe(200);
  });

  test.each([
    ["a claim given twice", '{"alg":"HS256"}', `{"sub":"${alice}","sub":"${mallory}","exp":${now + 300}}`, "MALFORMED_TOKEN"],
    ["a header parameter given twice", '{"alg":"HS256","alg":"HS256"}', `{"sub":"${alice}","exp":${now + 300}}`, "MALFORMED_TOKEN"],
    ["an exp of 1e309 (Infinity)", '{"alg":"HS256"}', `{"sub":"${alice}","exp":1e309}`, "MALFORMED_TOKEN"],
    ["an iat of -1e309", '{"alg":"HS256"}', `{"sub":"${alice}","exp":${now + 300},"iat":-1e309}`, "MALFORMED_TOKEN"],
    ["a lifetime of 48 hours", '{"alg":"HS256"}', `{"sub":"${alice}","exp":${now + 48 * 3600},"iat":${now}}`, "INVALID_TOKEN"],
    ["no iat and an expiry 30 days away", '{"alg":"HS256"}', `{"sub":"${alice}","exp":${now + 30 * 86400}}`, "INVALID_TOKEN"],
    [
      "an iat in the future and an expiry 48 hours away",
      '{"alg":"HS256"}',
      `{"sub":"${alice}","exp":${now + 48 * 3600},"iat":${now + 47 * 3600}}`,
      "INVALID_TOKEN",
    ],
  ])("a token with %s is refused", async (_, header, payload, code) => {
    const reply = await call(sign(header, payload));
    expect(reply.status).toBe(401);
    expect(reply.json.error_code).toBe(code);
  });
});

test("a data folder that cannot be used stops start-up with one line naming it", async () => {
  const file = join(tmpdir(), `todo-not-a-folder-${process.pid}`);
  await Bun.write(file, "a file, not a folder");
  try {
    const { code, stderr } = await failedStart({ PGLITE_DATA_DIR: file });
    expect(code).not.toBe(0);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(`PGLITE_DATA_DIR ${file} cannot be used`);
  } finally {
    rmSync(file, { force: true });
  }
}, 30_000);

test("thousands of unknown list parameters get a bounded answer naming the first few", async () => {
  const query = Array.from({ length: 2500 }, (_, i) => `p${i}=1`).join("&");
  const reply = await api.call("GET", `${TODOS}?${query}`, { user: newUserId() });
  expect(reply.status).toBe(400);
  expect(reply.json.field_errors).toHaveLength(20);
  expect(reply.json.field_errors[0]).toEqual({ field: "p0", code: "not_allowed", message: "is not a parameter of this route" });
  expect(reply.text.length).toBeLessThan(5000);
});

describe("9. the service listens on the loopback interface unless HOST says otherwise", () => {
  /** Where the service started with this HOST is bound, as the kernel sees it; a half that cannot run here says so. */
  async function bindOf(host: string) {
    const service = await startService({ PGLITE_DATA_DIR: "memory://", HOST: host });
    try {
      const port = Number(new URL(service.base).port);
      const addresses = listeningAddresses(port);
      const label = `HOST=${host || "(unset)"}`;
      if (!addresses) console.log(`${label}: no /proc/net/tcp on this machine; the listening socket's address was not read`);
      const outside = nonLoopbackIPv4();
      if (!outside) console.log(`${label}: this machine has no non-loopback IPv4 address; no connection from outside was tried`);
      const fromOutside = outside ? await tryConnect(outside, port) : undefined;
      // A half that could not run says so above; with neither, this test would prove nothing.
      expect([addresses, fromOutside].some((check) => check !== undefined)).toBe(true);
      return { addresses, outside, fromOutside, output: service.output() };
    } finally {
      await service.stop();
    }
  }

  test("with HOST unset, the one listening socket is bound to 127.0.0.1 and the machine's other address is refused", async () => {
    const bind = await bindOf("");
    if (bind.addresses) expect(bind.addresses).toEqual(["127.0.0.1"]);
    if (bind.outside) expect({ to: bind.outside, outcome: bind.fromOutside }).toEqual({ to: bind.outside, outcome: "ECONNREFUSED" });
    expect(bind.output).toContain('"url":"http://127.0.0.1:');
  }, 30_000);

  test("with HOST=0.0.0.0, the same checks see the wildcard bind (they can tell the two apart)", async () => {
    const bind = await bindOf("0.0.0.0");
    if (bind.addresses) expect(bind.addresses).toEqual(["0.0.0.0"]);
    if (bind.outside) expect({ to: bind.outside, outcome: bind.fromOutside }).toEqual({ to: bind.outside, outcome: "accepted" });
  }, 30_000);
});

test("a store that fails unexpectedly answers 500 problem+json, logged once with its cause, and nothing of it leaks", async () => {
  const logLines: string[] = [];
  const failing = {
    ...({} as TodoStore),
    list: async () => {
      throw new Error("boom: secret internals");
    },
  } as TodoStore;
  const client = testClient(appWith({}, { store: failing }, logLines));
  const reply = await client.list(newUserId());
  expect(reply.status).toBe(500);
  expect(reply.json.error_code).toBe("SERVER_ERROR");
  expect(reply.text).not.toContain("boom");
  const errors = logLines.map((line) => JSON.parse(line)).filter((line) => line.level === "error");
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ msg: "request failed", error: "boom: secret internals" });
});
