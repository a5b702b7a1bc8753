// Cross-origin calls from a browser page: off unless CORS_ORIGINS lists the front ends' origins.
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";

/**
 * What a page may send: the caller's credentials, JSON, the conditional and idempotency headers, and Last-Event-ID,
 * with which a page reading the live stream with fetch resumes it (see docs/auth.md).
 */
const ALLOWED_REQUEST_HEADERS = [
  "authorization",
  "content-type",
  "x-user-id",
  "x-request-id",
  "if-match",
  "if-none-match",
  "idempotency-key",
  "last-event-id",
];

/** Every response header a client is told to use; without this list page JavaScript cannot read them. */
export const EXPOSED_RESPONSE_HEADERS = [
  "location",
  "link",
  "etag",
  "retry-after",
  "x-request-id",
  "idempotent-replayed",
  "www-authenticate",
];

export function crossOrigin(origins: string[]) {
  if (origins.length === 0) return new Elysia();
  return cors({
    origin: origins,
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ALLOWED_REQUEST_HEADERS,
    exposeHeaders: EXPOSED_RESPONSE_HEADERS,
    // A browser asks again at most every 10 minutes, and per URL: see docs/auth.md on preflights.
    maxAge: 600,
    // No cookies: the caller is named by a header or a bearer token.
    credentials: false,
  });
}
