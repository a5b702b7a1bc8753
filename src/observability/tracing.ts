// OpenTelemetry traces: a server span per request, continuing an incoming W3C traceparent, and a child
// span per database call, sent to a collector over OTLP/HTTP (JSON). index.ts imports this module only
// when an OTLP endpoint is set, so with tracing off none of the SDK is loaded.
//
// The request's span is carried to the database calls in an AsyncLocalStorage of our own, entered in
// onRequest: Elysia runs the handler, and with it every store call, in the continuation of that hook.
// No global context manager or tracer provider is registered, so nothing else in the process is traced.
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { Elysia, StatusMap } from "elysia";
import type { TracingConfig } from "../config";
import type { RunQuery } from "../db/run-query";
import { UNMATCHED_ROUTE } from "./metrics";

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => [...headers.keys()],
};

export type Tracing = {
  /** The server span of every request. */
  plugin: Elysia;
  /** Wraps the app's runQuery: a child span per database call, named by its operation. */
  traceDatabase(runQuery: RunQuery): RunQuery;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
};

export function startTracing({ tracesUrl, serviceName }: TracingConfig, { exportDelayMs = 1000 } = {}): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: tracesUrl }), scheduledDelayMillis: exportDelayMs })],
  });
  const tracer = provider.getTracer("todo-api");
  const propagator = new W3CTraceContextPropagator();
  const requestSpan = new AsyncLocalStorage<Span>();
  const spans = new WeakMap<Request, Span>();

  const plugin = new Elysia()
    .onRequest(({ request }) => {
      // An incoming traceparent is continued; without one, the request starts a trace of its own.
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
      const span = tracer.startSpan(
        request.method,
        { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method } },
        parent,
      );
      spans.set(request, span);
      requestSpan.enterWith(span);
    })
    .onAfterResponse({ as: "global" }, ({ request, set, route }) => {
      const span = spans.get(request);
      if (!span) return;
      const status = typeof set.status === "number" ? set.status : (StatusMap[set.status as keyof typeof StatusMap] ?? 200);
      const template = route || UNMATCHED_ROUTE;
      // The route template, never the path: a path holds ids, and an unmatched one anything at all.
      span.updateName(`${request.method} ${template}`);
      span.setAttributes({
        "http.route": template,
        "http.response.status_code": status,
        "request.id": String(set.headers["x-request-id"] ?? ""),
      });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });

  function traceDatabase(runQuery: RunQuery): RunQuery {
    return async (operation, work, options) => {
      const parent = requestSpan.getStore();
      if (!parent) return runQuery(operation, work, options);
      // The statement's name only: parameters (user ids, todo text) never go into a span.
      const span = tracer.startSpan(
        operation,
        { kind: SpanKind.CLIENT, attributes: { "db.system.name": "postgresql", "db.operation.name": operation } },
        trace.setSpan(ROOT_CONTEXT, parent),
      );
      try {
        return await runQuery(operation, work, options);
      } catch (error) {
        // The error's class, not its message: a driver's message can quote the values it refused.
        span.setAttribute("error.type", error instanceof Error ? error.name : "unknown");
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw error;
      } finally {
        span.end();
      }
    };
  }

  return {
    plugin,
    traceDatabase,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
