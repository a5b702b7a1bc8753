// The error contract: every error answer is an RFC 9457 problem document with a stable error_code.
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

export const errorCodes = [
  "VALIDATION_ERROR",
  "MISSING_USER_CONTEXT",
  ...tokenErrorCodes,
  "NOT_FOUND",
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
export const RETRY_AFTER_SECONDS = "5";

/** An error the client can act on; app.ts turns it into a problem+json response. */
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
}

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
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
