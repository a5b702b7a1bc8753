// The todo's schemas: the single source of truth for request validation, the store's types
// and the OpenAPI document.
import { FormatRegistry } from "@sinclair/typebox";
import { t } from "elysia";
import { decodeCursor } from "./cursor";

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
  "page-limit": "must be an integer from 1 to 200",
  "true-or-false": "must be true or false",
  "todo-cursor": "is not a cursor from this service; use next_cursor of the previous page as it is",
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

export const DEFAULT_PAGE_LIMIT = 50;

// Query parameters are text on the wire, and are validated as text: Elysia's coercion of numbers and
// booleans accepts "1e2" and " 5", and reports an out-of-range number without naming the parameter.
FormatRegistry.Set("page-limit", (value) => /^(?:[1-9]\d?|1\d\d|200)$/.test(value));
FormatRegistry.Set("true-or-false", (value) => value === "true" || value === "false");
FormatRegistry.Set("todo-cursor", (value) => decodeCursor(value) !== undefined);

// Unknown parameters are refused: a misspelt filter (`is_completed=true`) would otherwise answer
// every todo, and the mistake would go unseen.
export const todoListQuery = t.Object(
  {
    limit: t.Optional(
      t.String({
        format: "page-limit",
        description: `Todos per page, an integer from 1 to 200; default ${DEFAULT_PAGE_LIMIT}`,
        examples: ["50"],
      }),
    ),
    cursor: t.Optional(t.String({ format: "todo-cursor", description: "Where the page starts: next_cursor of the previous page, as is" })),
    completed: t.Optional(
      t.String({
        format: "true-or-false",
        enum: ["true", "false"],
        description: "Only completed (true) or open (false) todos; absent: all",
      }),
    ),
  },
  { additionalProperties: false },
);

export const todoPageModel = t.Object({
  items: t.Array(todoModel),
  count: t.Integer({ description: "The number of items in this page" }),
  next_cursor: t.Union([t.String(), t.Null()], { description: "The cursor of the next page; null on the last page" }),
});

export type Todo = typeof todoModel.static;
export type NewTodo = typeof createTodoBody.static;
export type TodoChanges = typeof updateTodoBody.static;
