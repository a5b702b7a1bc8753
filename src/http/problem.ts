// The error contract: every error answer is an RFC 9457 problem document with a stable error_code.
import type { TSchema } from "@sinclair/typebox";
import { t } from "elysia";
import type { OpenAPIV3 } from "openapi-types";

/** Bearer mode's 401s: one per way a token can be wrong. */
export const tokenErrorCodes = [
  "MISSING_TOKEN",
  "MALFORMED_TOKEN",
  "TOKEN_EXPIRED",
  "INVALID_SIGNATURE",
  "WRONG_ISSUER",
  "WRONG_AUDIENCE",
  "MISSING_SUBJECT",
  "INVALID_SUBJECT",
  "INVALID_TOKEN",
] as const;

export const errorCodes = [
  "BAD_REQUEST",
  "VALIDATION_ERROR",
  "MISSING_USER_CONTEXT",
  ...tokenErrorCodes,
  "NOT_FOUND",
  "TODO_LIMIT_REACHED",
  "PRECONDITION_FAILED",
  "IDEMPOTENCY_KEY_REUSED",
  "REQUEST_TIMEOUT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "SERVER_ERROR",
  "SERVICE_UNAVAILABLE",
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export const problemModel = t.Object(
  {
    type: t.String(),
    title: t.String(),
    status: t.Integer(),
    detail: t.String({ description: "What went wrong and how to fix it" }),
    error_code: t.Union(errorCodes.map((code) => t.Literal(code))),
    field_errors: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
  },
  { description: "An RFC 9457 problem document (application/problem+json)" },
);

export type FieldError = { field: string; message: string };

/** What a 503 tells the client to wait before retrying. */
const RETRY_AFTER_SECONDS = "5";

/**
 * An error the client can act on. Elysia answers with toResponse() wherever it is thrown, whatever
 * plugin's route or hook threw it and whichever error hooks were registered before it.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly fieldErrors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
  }

  toResponse(): Response {
    return problemResponse(this);
  }
}

/** A dependency (the database, the auth server's keys) is away: retry after Retry-After seconds. */
export const serviceUnavailable = (detail: string) =>
  new ApiError(503, "SERVICE_UNAVAILABLE", detail, undefined, { "retry-after": RETRY_AFTER_SECONDS });

/** A bug: the client learns nothing of it but that it was logged. */
export const serverError = new ApiError(500, "SERVER_ERROR", "Something went wrong on our side; it has been logged.");

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemResponse(error: ApiError, headers: Record<string, string> = {}): Response {
  const body = {
    type: "about:blank",
    title: titles[error.status] ?? "Error",
    status: error.status,
    detail: error.detail,
    error_code: error.code,
    ...(error.fieldErrors && { field_errors: error.fieldErrors }),
  };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { ...headers, ...error.headers, "content-type": "application/problem+json" },
  });
}

const problemStatuses: Record<number, string> = {
  400: "Missing or malformed Host, X-User-Id, path id, query parameter or JSON; field_errors names it",
  401: "Bearer mode: missing, malformed, expired or untrusted token",
  404: "No such todo for this user (another user's todo answers the same)",
  408: "The body did not arrive within BODY_TIMEOUT_MS",
  409: "TODO_LIMIT_REACHED: the user already has MAX_TODOS_PER_USER todos",
  412: "PRECONDITION_FAILED: If-Match names another version of the todo (it changed since); nothing was changed",
  413: "Body over the size limit",
  415: "Body is not JSON",
  422: "Body breaks a rule; field_errors says which. On a create, also IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with another body",
  503: "Database unavailable; retry after Retry-After seconds",
};

/**
 * OpenAPI responses for a route. They document the answers rather than validate them at run
 * time: the store's types already fix their shape, and checking every item of every list cost
 * a third of list throughput (bench/results.md).
 */
export function documentedResponses(
  success: Record<number, TSchema | undefined>,
  problems: number[],
  successHeaders?: Record<string, OpenAPIV3.HeaderObject>,
) {
  // A TypeBox schema is a JSON Schema object; OpenAPI's types just do not know it.
  const content = (type: string, schema: TSchema) => ({ [type]: { schema: schema as OpenAPIV3.SchemaObject } });
  const responses: OpenAPIV3.ResponsesObject = {};
  for (const [status, schema] of Object.entries(success)) {
    responses[status] = {
      description: status === "304" ? "Not Modified: the ETag in If-None-Match is current; no body" : "Success",
      ...(successHeaders && { headers: successHeaders }),
      ...(schema && { content: content("application/json", schema) }),
    };
  }
  for (const status of problems) {
    responses[status] = { description: problemStatuses[status] ?? "Error", content: content("application/problem+json", problemModel) };
  }
  return responses;
}
