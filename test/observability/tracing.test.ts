// Traces: a server span per request, continuing an incoming traceparent, with a child span per
// database call, received by a local OTLP/HTTP collector. No span carries a todo's text.
import { afterAll, describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { startTracing } from "../../src/observability/tracing";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver";

const receiver = startOtlpReceiver();
const tracing = startTracing({ tracesUrl: receiver.tracesUrl, serviceName: "todo-api-test" });
const { database, config } = sharedDatabase();
const api = testClient(createApp({ database, config, tracing }));
afterAll(async () => {
  await tracing.shutdown();
  receiver.stop();
});

const SERVER = 2;
const CLIENT = 3;
const incomingTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
const incomingSpanId = "00f067aa0ba902b7";
const traceparent = `00-${incomingTraceId}-${incomingSpanId}-01`;

/** The spans of the request that answered with this request id: its server span and that span's children. */
async function spansOf(requestId: string | null): Promise<{ server: ReceivedSpan; children: ReceivedSpan[] }> {
  // afterResponse ends the server span a turn after the answer; then flush sends everything buffered.
  await new Promise((resolve) => setImmediate(resolve));
  await tracing.flush();
  const server = receiver.spans.find((span) => span.kind === SERVER && span.attributes["request.id"] === requestId);
  if (!server) throw new Error(`no server span for request ${requestId}; received ${receiver.spans.map((s) => s.name).join(", ")}`);
  return { server, children: receiver.spans.filter((span) => span.parentSpanId === server.spanId) };
}

describe("traces", () => {
  test("a request continues the incoming traceparent, and its database call is a child span", async () => {
    const user = newUserId();
    const title = "Secret plan for the weekend";
    const description = "Nobody may read this in a trace";
    const created = await api.call("POST", "/api/v1/todos", { user, body: { title, description }, headers: { traceparent } });
    expect(created.status).toBe(201);
    const { server, children } = await spansOf(created.headers.get("x-request-id"));

    expect(server.traceId).toBe(incomingTraceId);
    expect(server.parentSpanId).toBe(incomingSpanId);
    expect(server.name).toBe("POST /api/v1/todos");
    expect(server.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/api/v1/todos",
      "http.response.status_code": 201,
    });
    expect(server.resource["service.name"]).toBe("todo-api-test");

    expect(children).toHaveLength(1);
    expect(children[0]).toMatchObject({ name: "create_todo", kind: CLIENT, traceId: incomingTraceId });
    expect(children[0]?.attributes).toEqual({ "db.system.name": "postgresql", "db.operation.name": "create_todo" });

    const everything = JSON.stringify(receiver.spans);
    for (const secret of [title, description, "Secret", "Nobody", user, created.json.id]) expect(everything).not.toContain(secret);
  });

  test("without a traceparent a request starts a trace of its own; the route template names it, never the path", async () => {
    const user = newUserId();
    const { json } = await api.create(user, { title: "a" });
    const read = await api.call("GET", `/api/v1/todos/${json.id}`, { user });
    expect(read.status).toBe(200);
    const { server, children } = await spansOf(read.headers.get("x-request-id"));
    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(server.traceId).not.toBe(incomingTraceId);
    expect(server.parentSpanId).toBeUndefined();
    expect(server.name).toBe("GET /api/v1/todos/:id");
    expect(children.map((span) => span.name)).toEqual(["get_todo"]);
    expect(JSON.stringify(server)).not.toContain(json.id);
  });

  test("a request that matched no route is named by the fixed label, with no child spans", async () => {
    const answer = await api.call("GET", "/no/such/path", { headers: { traceparent } });
    expect(answer.status).toBe(404);
    const { server, children } = await spansOf(answer.headers.get("x-request-id"));
    expect(server.name).toBe("GET unmatched");
    expect(server.attributes["http.response.status_code"]).toBe(404);
    expect(children).toEqual([]);
    expect(JSON.stringify(server)).not.toContain("no/such");
  });
});
