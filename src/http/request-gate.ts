// What reaches the router: a request with a valid Host, routed on its real path, and the headers
// every answer carries. Bun builds request.url from the Host header, and Elysia cuts the path out of
// it by position, so a short or odd Host could route `/x/api/v1/...` into the API past a gateway
// that only guards `/api/*`.
import { Elysia } from "elysia";
import { DOCS_PATH } from "./api-reference";
import { ApiError } from "./problem";

// A DNS name or an IPv4 address, or an IPv6 literal in brackets; an optional port.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

const everywhere = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
// Not on the docs page: it runs Swagger UI's inline start-up script.
const docsPage = new Set([DOCS_PATH, `${DOCS_PATH}/`]);
const onApi = { "cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'" };

const validHost = (host: string | null): boolean => {
  const match = host ? HOST.exec(host) : null;
  return match !== null && (match[1] === undefined || Number(match[1]) <= 65535);
};

/** The path as the client sent it: after "scheme://authority", up to the query. */
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

export const requestGate = new Elysia({ name: "request-gate" }).onRequest((context) => {
  const { request, set } = context;
  // The path Elysia routes on; its request-hook type omits it (read as context.path so Elysia provides it).
  const path = (context as typeof context & { path: string }).path;
  Object.assign(set.headers, everywhere);
  if (!validHost(request.headers.get("host") ?? authorityOf(request.url))) {
    Object.assign(set.headers, onApi);
    throw new ApiError(400, "BAD_REQUEST", "Send a valid Host header: a host name or address, with an optional port.");
  }
  // The router and the client must agree on the path, or the request goes nowhere.
  if (realPath(request.url) !== path) {
    Object.assign(set.headers, onApi);
    throw new ApiError(400, "BAD_REQUEST", "The request's path could not be read unambiguously; check the Host header and the path.");
  }
  if (!docsPage.has(path)) Object.assign(set.headers, onApi);
});
