// Request and response schemas: the single source of truth for validation, types and the
// OpenAPI document.
import { FormatRegistry, type TSchema } from "@sinclair/typebox";
import { t } from "elysia";
import type { OpenAPIV3 } from "openapi-types";

// Control characters are never wanted in a title; a description may keep tabs and line
// breaks. NUL would also be refused by Postgres, and a lone UTF-16 surrogate cannot be
// stored as UTF-8 without silently changing the text.
const CONTROL = /\p{Cc}/u;
const CONTROL_EXCEPT_WHITESPACE = /(?![\t\n\r])\p{Cc}/u;

FormatRegistry.Set("todo-title", (value) => value.isWellFormed() && !CONTROL.test(value) && value.trim() !== "");
FormatRegistry.Set("todo-description", (value) => value.isWellFormed() && !CONTROL_EXCEPT_WHITESPACE.test(value));

/** What a failed format check tells the caller. */
export const formatMessages: Record<string, string> = {
  "todo-title": "must contain a visible character, and no control characters or unpaired surrogates",
  "todo-description": "must not contain control characters (other than tab and line breaks) or unpaired surrogates",
  uuid: "must be a UUID such as 3f2b6c1e-8a4d-4e8f-9b1a-2c3d4e5f6a7b",
};

// Any version, either case (answers are lower case); braces and other spellings are refused.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string) => UUID.test(value);
FormatRegistry.Set("uuid", isUuid);

const title = t.String({ format: "todo-title", minLength: 1, maxLength: 255, examples: ["Buy milk"] });
const description = t.Union([t.String({ format: "todo-description", maxLength: 2000 }), t.Null()], {
  description: "Free text, at most 2000 characters; null when absent.",
});

export const todoModel = t.Object({
  id: t.String({ format: "uuid" }),
  title: t.String(),
  description: t.Union([t.String(), t.Null()]),
  is_completed: t.Boolean(),
  created_at: t.String({ format: "date-time", description: "ISO-8601, UTC, millisecond precision" }),
  user_id: t.String({ format: "uuid" }),
});

export const createTodoBody = t.Object({ title, description: t.Optional(description) }, { additionalProperties: false });

export const updateTodoBody = t.Object(
  { title: t.Optional(title), description: t.Optional(description), is_completed: t.Optional(t.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const todoIdParams = t.Object({ id: t.String({ format: "uuid" }) });

export const todoListModel = t.Object({ items: t.Array(todoModel), count: t.Integer() });

export const errorCodes = [
  "VALIDATION_ERROR",
  "MISSING_USER_CONTEXT",
  "MISSING_TOKEN",
  "MALFORMED_TOKEN",
  "TOKEN_EXPIRED",
  "INVALID_SIGNATURE",
  "WRONG_ISSUER",
  "WRONG_AUDIENCE",
  "MISSING_SUBJECT",
  "INVALID_TOKEN",
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

const problemStatuses: Record<number, string> = {
  400: "Missing or malformed X-User-Id, path id or JSON",
  401: "Bearer mode: missing, malformed, expired or untrusted token",
  404: "No such todo for this user (another user's todo answers the same)",
  413: "Body over the size limit",
  415: "Body is not JSON",
  422: "Body breaks a rule; field_errors says which",
  503: "Database unavailable; retry after Retry-After seconds",
};

/**
 * OpenAPI responses for a route. They document the answers rather than validate them at run
 * time: the store's types already fix their shape, and checking every item of every list cost
 * a third of list throughput (bench/results.md).
 */
export function documentedResponses(success: Record<number, TSchema | undefined>, problems: number[]) {
  // A TypeBox schema is a JSON Schema object; OpenAPI's types just do not know it.
  const content = (type: string, schema: TSchema) => ({ [type]: { schema: schema as OpenAPIV3.SchemaObject } });
  const responses: OpenAPIV3.ResponsesObject = {};
  for (const [status, schema] of Object.entries(success)) {
    responses[status] = { description: "Success", ...(schema && { content: content("application/json", schema) }) };
  }
  for (const status of problems) {
    responses[status] = { description: problemStatuses[status] ?? "Error", content: content("application/problem+json", problemModel) };
  }
  return responses;
}
