// The error contract: every error answer is an RFC 9457 problem document with a stable error_code.
import { Type } from "@sinclair/typebox";
import { t } from "elysia";

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

/** The platform's error codes; each feature adds its own (todos/problems.ts). */
export const errorCodes = [
  "BAD_REQUEST",
  "VALIDATION_ERROR",
  "MISSING_USER_CONTEXT",
  ...tokenErrorCodes,
  "NOT_FOUND",
  "REQUEST_TIMEOUT",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "SERVER_ERROR",
  "SERVICE_UNAVAILABLE",
] as const;
/** A stable code in SCREAMING_SNAKE_CASE: the platform's, or a feature's. */
export type ErrorCode = (typeof errorCodes)[number] | (string & {});

/** Why a field was refused, for a front end to translate; `message` says the same in English. */
export const fieldErrorCodes = [
  "required",
  "not_allowed",
  "too_short",
  "too_long",
  "invalid_type",
  "invalid_format",
  "nothing_to_change",
  "invalid",
] as const;
export type FieldErrorCode = (typeof fieldErrorCodes)[number];

// t.UnionEnum is documented as a string enum; `default: undefined` drops the first value Elysia puts
// there by default (for messages of its own, which http/errors.ts replaces).
// TypeBox's Type.Integer, not Elysia's t.Integer: Elysia's also accepts a numeric string (for query
// parameters), and would be documented as `string | integer`.
export const fieldErrorModel = t.Object({
  field: t.String({ description: 'The property, path parameter, query parameter or header; "(body)" for the body as a whole' }),
  code: t.UnionEnum(fieldErrorCodes, { description: "Why, as a stable code", default: undefined }),
  message: t.String({ description: "Why, in English" }),
  limit: t.Optional(Type.Integer({ description: "The limit broken, for too_short (the least length) and too_long (the most)" })),
});
export type FieldError = typeof fieldErrorModel.static;

export const problemModel = t.Object(
  {
    type: t.String({ description: 'Always "about:blank": error_code says what happened' }),
    title: t.String({ description: "The HTTP status's reason phrase" }),
    status: Type.Integer({ description: "The HTTP status code, repeated" }),
    detail: t.String({ description: "What went wrong and how to fix it" }),
    // Listed in the OpenAPI document with every feature's codes (api-docs/openapi.ts).
    error_code: t.String({ description: "What happened, as a stable code" }),
    field_errors: t.Optional(t.Array(fieldErrorModel, { description: "Each field refused, when the request had fields to refuse" })),
  },
  { description: "An RFC 9457 problem document (application/problem+json)" },
);
export type Problem = typeof problemModel.static;

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
  403: "Forbidden",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The problem document an error answers with. */
export function problemBody(error: ApiError): Problem {
  return {
    type: "about:blank",
    title: titles[error.status] ?? "Error",
    status: error.status,
    detail: error.detail,
    error_code: error.code,
    ...(error.fieldErrors && { field_errors: error.fieldErrors }),
  };
}

export function problemResponse(error: ApiError, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problemBody(error)), {
    status: error.status,
    headers: { ...headers, ...error.headers, "content-type": "application/problem+json" },
  });
}
