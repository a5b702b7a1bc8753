// Prometheus metrics, rendered by prom-client: requests by method, route template and status; database
// calls by operation; the circuit; the pool where the driver tells; the process (registered by index.ts).
import { Elysia, StatusMap } from "elysia";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type Circuit, DatabaseDownError, DatabaseNotReadyError } from "../db/circuit";
import type { Database } from "../db/connect";
import { classifyDatabaseError } from "../db/errors";
import type { RunQuery } from "../db/run-query";
import { elapsedMs } from "./request-log";

export const METRICS_PATH = "/metrics";
/** The route label of a request that matched no route: never its path, which could hold anything. */
export const UNMATCHED_ROUTE = "unmatched";

// From 1 ms: a single-todo request is answered in about a millisecond, which prom-client's default first bucket (5 ms) would hide.
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// A method the client invents must not become a new series.
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

// Under Bun these report nothing true: no GC entries reach the observer, JavaScriptCore has no V8 heap
// spaces, Bun lists no active handles, and VmData counts the gigabytes JSC reserves but never uses.
const NOT_UNDER_BUN = [
  "nodejs_gc_duration_seconds",
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_active_resources",
  "nodejs_active_resources_total",
  "process_heap_bytes",
];

/** A registry with prom-client's process metrics, less those that are not true under Bun: one per process. */
export function processMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  for (const name of NOT_UNDER_BUN) registry.removeSingleMetric(name);
  return registry;
}

export type MetricsOptions = {
  registry: Registry;
  circuit: Circuit;
  connections?: Database["connections"];
};

// prom-client's own Histogram: its per-observation cost is a small share of a request's CPU (`bun run bench`).
function requestMetrics(registry: Registry) {
  // Its _count per method, route and status is the request counter.
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "From the request's arrival to its answer being written",
    labelNames: ["method", "route", "status"],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  return (method: string, route: string, status: number, seconds: number) => {
    duration.observe({ method: KNOWN_METHODS.has(method) ? method : "other", route, status: String(status) }, seconds);
  };
}

/** Why a database call failed, in a few words an alert can name. */
function failureReason(error: unknown): string {
  if (error instanceof DatabaseNotReadyError) return "not_ready";
  if (error instanceof DatabaseDownError) return "circuit_open";
  return classifyDatabaseError(error)?.replace("-", "_") ?? "error";
}

function databaseMetrics({ registry, circuit, connections }: MetricsOptions) {
  const duration = new Histogram({
    name: "db_call_duration_seconds",
    help: "One named database call, its retries included",
    labelNames: ["operation"],
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const failures = new Counter({
    name: "db_call_failures_total",
    help: "Database calls that failed: not_ready, circuit_open, unreachable, unavailable (dropped or too slow), invalid_input, error",
    labelNames: ["operation", "reason"],
    registers: [registry],
  });
  new Gauge({
    name: "db_circuit_open",
    help: "1 while the database is known to be down and requests answer 503 at once, else 0",
    registers: [registry],
    collect() {
      this.set(circuit.state() === "open" ? 1 : 0);
    },
  });
  if (connections) {
    new Gauge({
      name: "db_pool_connections",
      help: "The pool's open connections, in use or idle",
      labelNames: ["state"],
      registers: [registry],
      collect() {
        const { inUse, idle } = connections();
        this.set({ state: "in_use" }, inUse);
        this.set({ state: "idle" }, idle);
      },
    });
  }
  return (runQuery: RunQuery): RunQuery =>
    async (operation, work, options) => {
      const started = performance.now();
      try {
        return await runQuery(operation, work, options);
      } catch (error) {
        failures.inc({ operation, reason: failureReason(error) });
        throw error;
      } finally {
        duration.observe({ operation }, (performance.now() - started) / 1000);
      }
    };
}

/** The /metrics route and the request metrics, as a plugin; `observeDatabase` wraps the app's query runner. */
export function metrics(options: MetricsOptions) {
  const { registry } = options;
  const record = requestMetrics(registry);
  const plugin = new Elysia()
    .onAfterResponse({ as: "global" }, ({ request, set, route }) => {
      const elapsed = elapsedMs(request);
      if (elapsed === undefined) return;
      const status = typeof set.status === "number" ? set.status : (StatusMap[set.status as keyof typeof StatusMap] ?? 200);
      record(request.method, route || UNMATCHED_ROUTE, status, elapsed / 1000);
    })
    .get(
      METRICS_PATH,
      async ({ set }) => {
        set.headers["content-type"] = registry.contentType;
        return registry.metrics();
      },
      { detail: { hide: true } },
    );
  return { plugin, observeDatabase: databaseMetrics(options) };
}
