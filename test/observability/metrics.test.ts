// GET /metrics: Prometheus text that a strict parser accepts, counts that move by exactly the
// requests made, labelled by route template and status. Each app has a registry of its own.
import { describe, expect, test } from "bun:test";
import { createApp } from "../../src/app";
import { processMetricsRegistry } from "../../src/observability/metrics";
import { newUserId, sharedDatabase, testClient } from "../support/api";
import { testDriver } from "../support/database";
import { parsePrometheusText, sampleValue } from "../support/prometheus";

const missingId = "00000000-0000-4000-8000-000000000000";

async function scrape(api: ReturnType<typeof testClient>) {
  // Elysia runs afterResponse hooks in a setImmediate once the answer is out: one more turn of the
  // loop, queued after theirs, lets the last request be recorded.
  await new Promise((resolve) => setImmediate(resolve));
  const response = await api.call("GET", "/metrics");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parsePrometheusText(response.text);
}

const requests = (method: string, route: string, status: number) => ({ method, route, status: String(status) });
// The request counter is the duration histogram's _count.
const REQUESTS = "http_request_duration_seconds_count";

describe("GET /metrics", () => {
  test("parses as Prometheus text, and counts exactly the requests made by method, route template and status", async () => {
    const api = testClient();
    const user = newUserId();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.create(user, { title: `todo ${i}` })).json.id);
    for (const id of ids.slice(0, 2)) expect((await api.get(user, id)).status).toBe(200);
    expect((await api.get(user, missingId)).status).toBe(404);
    expect((await api.get(user, "not-a-uuid")).status).toBe(400);
    expect((await api.call("GET", `/no/such/${ids[0]}`)).status).toBe(404);

    const families = await scrape(api);
    expect(sampleValue(families, REQUESTS, requests("POST", "/api/v1/todos", 201))).toBe(3);
    expect(sampleValue(families, REQUESTS, requests("GET", "/api/v1/todos/:id", 200))).toBe(2);
    expect(sampleValue(families, REQUESTS, requests("GET", "/api/v1/todos/:id", 404))).toBe(1);
    expect(sampleValue(families, REQUESTS, requests("GET", "/api/v1/todos/:id", 400))).toBe(1);
    expect(sampleValue(families, REQUESTS, requests("GET", "unmatched", 404))).toBe(1);
    // The scrape is not counted in its own answer: it is recorded once written.
    expect(sampleValue(families, REQUESTS, requests("GET", "/metrics", 200))).toBeUndefined();
    const counted = families.get("http_request_duration_seconds")?.samples.filter((sample) => sample.name === REQUESTS);
    expect(counted?.reduce((sum, sample) => sum + sample.value, 0)).toBe(8);
    expect(families.has("http_requests_total")).toBe(false);

    // A series' buckets run from 1 ms to 10 s, each counting the requests at or under its bound; +Inf counts them all.
    const created = requests("POST", "/api/v1/todos", 201);
    const buckets = families
      .get("http_request_duration_seconds")
      ?.samples.filter(({ name, labels }) => name === "http_request_duration_seconds_bucket" && labels.status === created.status);
    const bounds = buckets?.map(({ labels }) => labels.le);
    expect([bounds?.[0], bounds?.at(-2), bounds?.at(-1)]).toEqual(["0.001", "10", "+Inf"]);
    const counts = buckets?.map(({ value }) => value) ?? [];
    expect(counts).toEqual(counts.toSorted((x, y) => x - y));
    expect(counts.at(-1)).toBe(3);
    expect(sampleValue(families, "http_request_duration_seconds_sum", created)).toBeGreaterThan(0);

    // The calls the store made: three creates, three lookups (the bad id never reached it).
    expect(sampleValue(families, "db_call_duration_seconds_count", { operation: "create_todo" })).toBe(3);
    expect(sampleValue(families, "db_call_duration_seconds_count", { operation: "get_todo" })).toBe(3);
    expect(families.get("db_call_failures_total")?.samples).toEqual([]);
    expect(sampleValue(families, "db_circuit_open")).toBe(0);

    // No path, id or user ever becomes a label.
    await new Promise((resolve) => setImmediate(resolve));
    const text = (await api.call("GET", "/metrics")).text;
    for (const secret of [...ids, user, "no/such"]) expect(text).not.toContain(secret);
    expect(sampleValue(parsePrometheusText(text), REQUESTS, requests("GET", "/metrics", 200))).toBe(1);
  });

  test("database failures are counted by operation and reason", async () => {
    const { database, config } = sharedDatabase();
    const api = testClient(createApp({ database, config, isReady: () => false }));
    expect((await api.list(newUserId())).status).toBe(503);
    expect((await api.list(newUserId())).status).toBe(503);
    const families = await scrape(api);
    expect(sampleValue(families, "db_call_failures_total", { operation: "list_todos", reason: "not_ready" })).toBe(2);
    expect(sampleValue(families, REQUESTS, requests("GET", "/api/v1/todos", 503))).toBe(2);
  });

  test("a method a path does not have is counted under the fixed unmatched route", async () => {
    const api = testClient();
    expect((await api.call("PUT", `/api/v1/todos/${missingId}`, { user: newUserId(), body: { title: "x" } })).status).toBe(404);
    const families = await scrape(api);
    expect(sampleValue(families, REQUESTS, requests("PUT", "unmatched", 404))).toBe(1);
  });

  test("the process metrics that hold under Bun: memory, CPU, event-loop lag; none that Bun leaves empty", async () => {
    const { database, config } = sharedDatabase();
    const api = testClient(createApp({ database, config, metricsRegistry: processMetricsRegistry() }));
    const families = await scrape(api);
    expect(sampleValue(families, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sampleValue(families, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(sampleValue(families, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect(families.get("nodejs_eventloop_lag_p99_seconds")?.samples).toHaveLength(1);
    expect(families.has("nodejs_gc_duration_seconds")).toBe(false);
    expect(families.has("nodejs_heap_space_size_used_bytes")).toBe(false);
  });

  test("the pool's connections where the driver tells: Neon's pool does, Bun SQL and PGlite do not", async () => {
    const api = testClient();
    await api.list(newUserId());
    const families = await scrape(api);
    if (testDriver === "neon") {
      expect(sampleValue(families, "db_pool_connections", { state: "in_use" })).toBeGreaterThanOrEqual(0);
      expect(sampleValue(families, "db_pool_connections", { state: "idle" })).toBeGreaterThanOrEqual(1);
    } else expect(families.has("db_pool_connections")).toBe(false);
  });

  test("is not in the OpenAPI document", async () => {
    const { json } = await testClient().call("GET", "/docs/json");
    expect(Object.keys(json.paths)).not.toContain("/metrics");
  });

  test("METRICS=off: /metrics answers 404 like any path without a route", async () => {
    const { database, config } = sharedDatabase();
    const api = testClient(createApp({ database, config: { ...config, metrics: false } }));
    const { status, json } = await api.call("GET", "/metrics");
    expect(status).toBe(404);
    expect(json.error_code).toBe("NOT_FOUND");
  });
});
