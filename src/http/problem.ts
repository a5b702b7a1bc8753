import type { ErrorCode } from "../todos/model";

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
