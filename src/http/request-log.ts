// One structured log line per request, and a request id the caller can quote to us.
import { Elysia } from "elysia";
import type { Logger } from "../log";
import { realPath } from "./request-gate";

// A caller's X-Request-Id is kept only if it is short and plain; anything else could forge log lines.
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestLog(logger: Logger) {
  const requestIds = new Elysia({ name: "request-id" }).onRequest(({ request, set }) => {
    const incoming = request.headers.get("x-request-id");
    set.headers["x-request-id"] = incoming && SAFE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  });
  if (!logger.enabled("info")) return requestIds;
  const startedAt = new WeakMap<Request, number>();
  return requestIds
    .onRequest(({ request }) => {
      startedAt.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, set, route }) => {
      const started = startedAt.get(request);
      logger.info("request", {
        method: request.method,
        // The route template; a request that matched none is logged by its path as sent.
        route: route || realPath(request.url) || null,
        status: set.status,
        duration_ms: started === undefined ? undefined : Math.round((performance.now() - started) * 100) / 100,
        request_id: set.headers["x-request-id"],
      });
    });
}
