// Prometheus metrics, rendered by prom-client: requests by method, route template and status; database
// calls by operation; the circuit; the pool where the driver tells; the process (registered by index.ts).
import { Elysia, StatusMap } from "elysia";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Budget } from "../db/budget";
import { type Circuit, DatabaseDownError, DatabaseNotReadyError } from "../db/circuit";
import type { Database } from "../db/connect";
import { classifyDatabaseError } from "../db/errors";
import { RecordedHistogram } from "./recorded-histogram";
import { elapsedMs } from "./request-log";

export const METRICS_PATH = "/metrics";
/** The route label of a request that matched no route: never its path, which could hold anything. */
export const UNMATCHED_ROUTE = "unmatched";

// From 1 ms: a retrieve takes about 1.5 ms under load (bench/results.md), so the default 5 ms first bucket would hide it.
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

/** Series made once per label combination and kept: recording a request then looks them up and allocates nothing. */
function seriesCache<K, V>(make: (key: K) => V) {
  const made = new Map<K, V>();
  return (key: K): V => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}

function requestMetrics(registry: Registry) {
  const duration = new RecordedHistogram(
    "http_request_duration_seconds",
    "From the request's arrival to its answer being written",
    SECONDS_BUCKETS,
    registry,
  );
  // The count of each series is the histogram's: one record per request serves both, read when scraped.
  const counted: { labels: Record<string, string>; count(): number }[] = [];
  new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered",
    labelNames: ["method", "route", "status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, count } of counted) this.inc(labels, count());
    },
  });
  const byMethod = seriesCache((method: string) =>
    seriesCache((route: string) =>
      seriesCache((status: number) => {
        const labels = { method, route, status: String(status) };
        const series = duration.series(labels);
        counted.push({ labels, count: series.count });
        return series;
      }),
    ),
  );
  return (method: string, route: string, status: number, seconds: number) => {
    byMethod(KNOWN_METHODS.has(method) ? method : "other")(route)(status)(seconds);
  };
}

/** Why a database call failed, in a few words an alert can name. */
function failureReason(error: unknown): string {
  if (error instanceof DatabaseNotReadyError) return "not_ready";
  if (error instanceof DatabaseDownError) return "circuit_open";
  return classifyDatabaseError(error)?.replace("-", "_") ?? "error";
}

function databaseMetrics({ registry, circuit, connections }: MetricsOptions) {
  const duration = new RecordedHistogram(
    "db_call_duration_seconds",
    "One named database call, its retries included",
    SECONDS_BUCKETS,
    registry,
  );
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
  const durationOf = seriesCache((operation: string) => duration.series({ operation }));
  return (budget: Budget): Budget =>
    async (operation, work, options) => {
      const started = performance.now();
      try {
        return await budget(operation, work, options);
      } catch (error) {
        failures.inc({ operation, reason: failureReason(error) });
        throw error;
      } finally {
        durationOf(operation)((performance.now() - started) / 1000);
      }
    };
}

/** The /metrics route and the request metrics, as a plugin; `observeDatabase` wraps the app's budget. */
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
