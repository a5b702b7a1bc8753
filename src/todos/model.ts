// The todo's schemas: the single source of truth for request validation, the store's types
// and the OpenAPI document.
import { t } from "elysia";
import { DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH } from "../db/schema";
import { describedByUs } from "../http/validation";

const title = t.String({ format: "visible-text", minLength: 1, maxLength: TITLE_MAX_LENGTH, examples: ["Buy milk"] });
const description = t.Union([t.String({ format: "plain-text", maxLength: DESCRIPTION_MAX_LENGTH }), t.Null()], {
  description: `Free text, at most ${DESCRIPTION_MAX_LENGTH} characters; null when absent.`,
});

export const todoModel = t.Object({
  id: t.String({ format: "uuid" }),
  title: t.String(),
  description: t.Union([t.String(), t.Null()]),
  is_completed: t.Boolean(),
  created_at: t.String({ format: "date-time", description: "ISO-8601, UTC, millisecond precision" }),
  user_id: t.String({ format: "uuid" }),
});

export const createTodoBody = describedByUs(t.Object({ title, description: t.Optional(description) }, { additionalProperties: false }));

export const updateTodoBody = describedByUs(
  t.Object(
    { title: t.Optional(title), description: t.Optional(description), is_completed: t.Optional(t.Boolean()) },
    { additionalProperties: false, minProperties: 1 },
  ),
);

export const todoIdParams = describedByUs(t.Object({ id: t.String({ format: "api-uuid" }) }));

export const todoListModel = t.Object({ items: t.Array(todoModel), count: t.Integer() });

export type Todo = typeof todoModel.static;
export type NewTodo = typeof createTodoBody.static;
export type TodoChanges = typeof updateTodoBody.static;
