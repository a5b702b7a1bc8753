// The todo's schemas: the single source of truth for request validation, the store's types
// and the OpenAPI document.
import { FormatRegistry } from "@sinclair/typebox";
import { t } from "elysia";

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

export type Todo = typeof todoModel.static;
export type NewTodo = typeof createTodoBody.static;
export type TodoChanges = typeof updateTodoBody.static;
