// One structured log line per request, and a request id the caller can quote to us.
import { Elysia } from "elysia";
import type { Logger } from "../log";
import { realPath } from "./request-gate";

// A caller's X-Request-Id is kept only if it is short and plain; anything else could forge log lines.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

// When the request arrived, stamped once on its context (the same object reaches every hook) in the same
// hook as its id: the log line and the metrics both read it. A property, not a WeakMap keyed by the
// request: every hook Elysia runs per request has a cost of its own, and a WeakMap's entries cost the
// garbage collector too.
type Stamped = { startedAt?: number };

/** Milliseconds since the request arrived, if it came through requestLog; `context` is Elysia's. */
export function elapsedMs(context: object): number | undefined {
  const started = (context as Stamped).startedAt;
  return started === undefined ? undefined : performance.now() - started;
}

export function requestLog(logger: Logger) {
  const requestIds = new Elysia({ name: "request-id" }).onRequest((context) => {
    const { request, set } = context;
    (context as Stamped).startedAt = performance.now();
    const incoming = request.headers.get("x-request-id");
    set.headers["x-request-id"] = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  });
  if (!logger.enabled("info")) return requestIds;
  return requestIds.onAfterResponse({ as: "global" }, (context) => {
    const { request, set, route } = context;
    const elapsed = elapsedMs(context);
    logger.info("request", {
      method: request.method,
      // The route template; a request that matched none is logged by its path as sent.
      route: route || realPath(request.url) || null,
      status: set.status,
      duration_ms: elapsed === undefined ? undefined : Math.round(elapsed * 100) / 100,
      request_id: set.headers["x-request-id"],
    });
  });
}
