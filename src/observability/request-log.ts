// One structured log line per request, and a request id the caller can quote to us.
import { Elysia } from "elysia";
import type { Logger } from "../log";

// A caller's X-Request-Id is kept only if it is short and plain; anything else could forge log lines.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

// When each request arrived, stamped once in the same hook as its id: the log line and the metrics
// both read it (every hook Elysia runs per request has a cost of its own). Keyed by the request, not a
// property of Elysia's context: a hook that passes the whole context on makes Elysia assume it reads
// everything, cookies included (test/http/compiled-handlers.test.ts).
const startedAt = new WeakMap<Request, number>();

/** Milliseconds since the request arrived, if it came through requestLog. */
export function elapsedMs(request: Request): number | undefined {
  const started = startedAt.get(request);
  return started === undefined ? undefined : performance.now() - started;
}

export function requestLog(logger: Logger) {
  const requestIds = new Elysia({ name: "request-id" }).onRequest(({ request, set }) => {
    startedAt.set(request, performance.now());
    const incoming = request.headers.get("x-request-id");
    set.headers["x-request-id"] = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  });
  if (!logger.enabled("info")) return requestIds;
  return requestIds.onAfterResponse({ as: "global" }, ({ request, set, route }) => {
    const elapsed = elapsedMs(request);
    logger.info("request", {
      method: request.method,
      // The route template, or the path of a request that matched none.
      route: route || URL.parse(request.url)?.pathname || null,
      status: set.status,
      duration_ms: elapsed === undefined ? undefined : Math.round(elapsed * 100) / 100,
      request_id: set.headers["x-request-id"],
    });
  });
}
