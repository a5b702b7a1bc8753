// Headers every response carries: a JSON API is never sniffed, framed or cached.
import { Elysia } from "elysia";

const everywhere = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
// Not on /docs: its page runs Swagger UI's inline start-up script.
const onApi = { "cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'" };

export const securityHeaders = new Elysia({ name: "security-headers" }).onRequest(({ request, set }) => {
  Object.assign(set.headers, everywhere);
  // The path starts at the first "/" after "scheme://"; cheaper than parsing a URL per request.
  if (!request.url.startsWith("/docs", request.url.indexOf("/", 8))) Object.assign(set.headers, onApi);
});
