// A local OpenTelemetry collector, as far as the tests need one: OTLP/HTTP with JSON bodies on
// 127.0.0.1, POST /v1/traces, every span kept in the order received.

export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
};

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };
type ExportRequest = {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: (Omit<ReceivedSpan, "attributes" | "resource"> & { attributes?: KeyValue[] })[] }[];
  }[];
};

const plainValue = ({ stringValue, intValue, boolValue, doubleValue }: AnyValue) =>
  stringValue ?? (intValue !== undefined ? Number(intValue) : (boolValue ?? doubleValue));
const attributesOf = (list: KeyValue[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, plainValue(value)]));

/** `keep: false` only counts the spans (the bench sends hundreds of thousands). */
export function startOtlpReceiver({ keep = true } = {}) {
  const spans: ReceivedSpan[] = [];
  let received = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method !== "POST" || path !== "/v1/traces") return new Response("not found", { status: 404 });
      if (!request.headers.get("content-type")?.startsWith("application/json")) return new Response("json only", { status: 415 });
      const body = (await request.json()) as ExportRequest;
      for (const { resource, scopeSpans = [] } of body.resourceSpans ?? []) {
        for (const { spans: spansIn = [] } of scopeSpans) {
          received += spansIn.length;
          if (!keep) continue;
          for (const span of spansIn) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: attributesOf(span.attributes),
              resource: attributesOf(resource?.attributes),
            });
          }
        }
      }
      return Response.json({});
    },
  });
  return {
    tracesUrl: `http://127.0.0.1:${server.port}/v1/traces`,
    spans,
    received: () => received,
    stop: () => server.stop(true),
  };
}
