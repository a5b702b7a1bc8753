// What reaches the router: a request with a valid Host, routed on the path it was sent with, and the
// headers every answer carries. Behind a gateway that guards only `/api/*`, a request must not reach
// the API by any other spelling of its path, such as `/docs/../api/v1/todos/<id>`.
import { Elysia } from "elysia";
import { ApiError } from "./problem";

// A DNS name or an IPv4 address, or an IPv6 literal in brackets; an optional port.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

const everywhere = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
/** The headers of every API answer, an error's too. */
export const apiHeaders = {
  ...everywhere,
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

/** The answer to a request without a valid Host header. */
export const badHost = () => new ApiError(400, "BAD_REQUEST", "Send a valid Host header: a host name or address, with an optional port.");

const notRoutedAsSent = (method: string) =>
  new ApiError(404, "NOT_FOUND", `No ${method} route matches this path as sent; the API is under /api/v1, see /docs.`);

/**
 * Whether Bun's router matched this request on its path as sent. Bun matches its `routes` on the
 * request-target as sent and hands what matched a BunRequest, the only kind with `params`. What did not
 * match reaches the `fetch` fallback, Elysia's own router, with request.url normalised (`..`, `%2e`,
 * `\` resolved): there the spelling is lost. test/http/bun-routing.test.ts pins both.
 */
export function routedAsSent(request: Request): boolean {
  return "params" in request;
}

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

/** "host[:port]" of an absolute URL: a Request built in-process (tests, app.handle) has no Host header. */
function authorityOf(url: string): string | null {
  const start = url.indexOf("://");
  if (start < 0) return null;
  const end = url.indexOf("/", start + 3);
  return url.slice(start + 3, end < 0 ? undefined : end);
}

/** The gate of one app: it refuses other spellings only while that app listens. */
export function requestGate({ docsPath }: { docsPath: string }) {
  // No content security policy on the docs page: it runs Swagger UI's inline start-up script.
  const docsPage = new Set([docsPath, `${docsPath}/`]);
  const validHost = hostChecker();
  // Whether the app listens is Elysia's to know: listen() sets its `server`, stop() clears it. Read from
  // the app taken as it starts, not from the request context's `server`: reading that makes Elysia
  // redefine a property of every request's context (test/http/compiled-handlers.test.ts).
  let app: { server: unknown } | undefined;
  return new Elysia()
    .onStart((started) => {
      app = started;
    })
    .onRequest((context) => {
      const { request, set } = context;
      // The path Elysia routes on; its request-hook type omits it (read as context.path so Elysia provides it).
      const path = (context as typeof context & { path: string }).path;
      Object.assign(set.headers, docsPage.has(path) ? everywhere : apiHeaders);
      // Bun builds request.url from the Host header; without a valid one the path cannot be read from it.
      if (!validHost(request.headers.get("host") ?? authorityOf(request.url))) {
        Object.assign(set.headers, apiHeaders);
        throw badHost();
      }
      // The rule: while the app listens, a request reaches a handler only if Bun's router matched it as
      // sent. Bun never routes natively a CORS preflight (Elysia's wildcard route) or the docs page (a
      // fixed answer), and neither reaches the API. A request made in-process is refused too while the
      // app listens: nothing tells it apart from one the server received, as Bun's requestIP is null for
      // a client that reset its connection as well (test/http/bun-routing.test.ts).
      if (!routedAsSent(request) && app?.server && request.method !== "OPTIONS" && !docsPage.has(path)) {
        Object.assign(set.headers, apiHeaders);
        throw notRoutedAsSent(request.method);
      }
    });
}
