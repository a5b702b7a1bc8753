// What reaches the router: a request with a valid Host, routed on the path it was sent with, and the
// headers every answer carries. Behind a gateway that guards only `/api/*`, a request must not reach
// the API by any other spelling of its path.
import { Elysia } from "elysia";
import { ApiError } from "./problem";

// A DNS name or an IPv4 address, or an IPv6 literal in brackets; an optional port.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

const everywhere = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
const onApi = {
  ...everywhere,
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

const isValidHost = (host: string | null): boolean => {
  const match = host ? HOST.exec(host) : null;
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65535);
};

/** isValidHost, remembering the last valid Host: nearly every request names the same one. */
function hostChecker() {
  let lastValid: string | undefined;
  return (host: string | null): boolean => {
    if (host === lastValid) return true;
    if (!isValidHost(host)) return false;
    lastValid = host as string;
    return true;
  };
}

/** The path of request.url, up to the query. */
export function realPath(url: string): string | undefined {
  const scheme = url.indexOf("://");
  if (scheme < 0) return undefined;
  const start = url.indexOf("/", scheme + 3);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
}

/** "host[:port]" of an absolute URL: a Request built in-process (tests, app.handle) has no Host header. */
function authorityOf(url: string): string | null {
  const start = url.indexOf("://");
  if (start < 0) return null;
  const end = url.indexOf("/", start + 3);
  return url.slice(start + 3, end < 0 ? undefined : end);
}

/** The gate of one app: its own, as it knows whether that app listens. */
export function requestGate({ docsPath }: { docsPath: string }) {
  // No content security policy on the docs page: it runs Swagger UI's inline start-up script.
  const docsPage = new Set([docsPath, `${docsPath}/`]);
  // Only Bun's server routes requests natively; app.handle() in-process does not. Known from the app's
  // start, not from the request context's `server`: reading that makes Elysia redefine a property of
  // every request's context, which cost about a sixth of a retrieve's CPU.
  let listening = false;
  const validHost = hostChecker();
  return new Elysia()
    .onStart(() => {
      listening = true;
    })
    .onStop(() => {
      listening = false;
    })
    .onRequest((context) => {
      const { request, set } = context;
      // The path Elysia routes on; its request-hook type omits it (read as context.path so Elysia provides it).
      const path = (context as typeof context & { path: string }).path;
      Object.assign(set.headers, docsPage.has(path) ? everywhere : onApi);
      // Bun builds request.url from the Host header; without a valid one the path cannot be read from it.
      if (!validHost(request.headers.get("host") ?? authorityOf(request.url))) {
        Object.assign(set.headers, onApi);
        throw new ApiError(400, "BAD_REQUEST", "Send a valid Host header: a host name or address, with an optional port.");
      }
      // Bun's router matches every route on the request-target as sent, and only such requests carry
      // `params`. What it did not match comes to Elysia's fallback with request.url normalised (`..`,
      // `%2e`, `\`), where `/docs/../api/v1/todos/<id>` would reach the API: there it is a 404.
      // (Bun does not route natively a wildcard route, which answers CORS preflights, nor a route whose
      // answer is a fixed value, as the docs page is: neither reaches the API.)
      if (listening && !("params" in request) && request.method !== "OPTIONS" && !docsPage.has(path)) {
        Object.assign(set.headers, onApi);
        throw new ApiError(404, "NOT_FOUND", `No ${request.method} route matches this path as sent; the API is under /api/v1, see /docs.`);
      }
    });
}
