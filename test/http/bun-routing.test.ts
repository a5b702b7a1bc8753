// What Bun does with a path, which the request gate (src/http/request-gate.ts) relies on to keep other
// spellings of a path out of the API. Asserted on a plain Bun.serve, without Elysia: when one of these
// fails after a Bun upgrade, the gate's rule must be rethought, not this test adjusted.
import { afterAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { routedAsSent } from "../../src/http/request-gate";

type Arrival = { handler: "route" | "fetch"; routedAsSent: boolean; url: string; params?: unknown; peer: unknown };
let arrival: Arrival | undefined;

const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  routes: {
    "/api/v1/todos/:id": (request) => record("route", request),
    "/health": (request) => record("route", request),
  },
  fetch: (request) => record("fetch", request),
});
afterAll(() => server.stop(true));

function record(handler: Arrival["handler"], request: Request) {
  const { params } = request as Request & { params?: unknown };
  arrival = { handler, routedAsSent: routedAsSent(request), url: request.url, params, peer: server.requestIP(request) };
  return new Response(null, { status: 204 });
}

/**
 * Sends `GET <target>` as these exact bytes (fetch would normalise the path first) and returns what
 * Bun's handler saw; with `reset`, the client resets the connection as soon as the request is written.
 */
async function arrivalOf(target: string, { reset = false } = {}): Promise<Arrival | undefined> {
  arrival = undefined;
  await new Promise<void>((resolve) => {
    const socket = connect(server.port ?? 0, "127.0.0.1", () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      if (reset) socket.resetAndDestroy();
    });
    socket.on("data", () => {});
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
  for (let tick = 0; tick < 100 && arrival === undefined; tick++) await Bun.sleep(5);
  return arrival;
}

test("a path spelled as a route is matched by Bun's router: the request carries params", async () => {
  expect(await arrivalOf("/api/v1/todos/abc")).toMatchObject({
    handler: "route",
    routedAsSent: true,
    url: "http://localhost/api/v1/todos/abc",
    params: { id: "abc" },
  });
  expect(await arrivalOf("/health")).toMatchObject({ handler: "route", routedAsSent: true });
});

test.each([
  ["/docs/../api/v1/todos/abc", "/api/v1/todos/abc"],
  ["/docs/%2e%2e/api/v1/todos/abc", "/api/v1/todos/abc"],
  ["/docs/.%2E/api/v1/todos/abc", "/api/v1/todos/abc"],
  ["/docs\\..\\api\\v1\\todos\\abc", "/api/v1/todos/abc"],
  ["/api/v1/todos/../todos/abc", "/api/v1/todos/abc"],
  ["/./health", "/health"],
])("%s is not matched by Bun's router: the fallback gets it without params, its url normalised to %s", async (target, normalised) => {
  expect(await arrivalOf(target)).toMatchObject({ handler: "fetch", routedAsSent: false, url: `http://localhost${normalised}` });
});

// Why the gate refuses in-process requests too while the app listens, rather than telling them apart
// by their peer: a client that resets its connection gets its request handled all the same, peerless.
test("a request whose client reset the connection is still handled, and the server names no peer for it", async () => {
  expect((await arrivalOf("/docs/../health"))?.peer).toMatchObject({ address: "127.0.0.1" });
  expect(await arrivalOf("/docs/../health", { reset: true })).toMatchObject({ handler: "fetch", routedAsSent: false, peer: null });
  expect(server.requestIP(new Request("http://localhost/health"))).toBeNull();
});

test("a request made in-process has no other spelling: new Request normalises its URL, and it carries no params", () => {
  for (const spelling of ["/docs/../health", "/docs/%2e%2e/health", "/docs\\..\\health"]) {
    const request = new Request(`http://localhost${spelling}`);
    expect({ spelling, url: request.url, routedAsSent: routedAsSent(request) }).toEqual({
      spelling,
      url: "http://localhost/health",
      routedAsSent: false,
    });
  }
});
