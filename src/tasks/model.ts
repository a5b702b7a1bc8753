// The todo-app front end's task, as its Phase II backend contract shapes it: a todo under another name,
// whose user_id is the subject the front end knows its user by.
import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { nameSchemas } from "../api-docs/openapi";
import { describedByUs, positiveIntegerQuery } from "../http/validation";
import { createTodoBody, MAX_PAGE_LIMIT, MAX_SEARCH_LENGTH, priority, todoModel } from "../todos/model";

const { title, description, is_completed, created_at, id } = todoModel.properties;

export const taskModel = t.Object({
  id,
  title,
  description,
  is_completed,
  priority: todoModel.properties.priority,
  created_at,
  user_id: t.String({ description: "The user in the path: the token's subject (or X-User-Id in header mode)" }),
});

/** A whole task, as a replacement: what Swagger UI's "Try it out" starts from. */
export const replacement = { title: "Buy milk", description: null, is_completed: false, priority: "Medium" as const };

/** PUT replaces a task: every field but the description (absent: null) must be given. */
export const replaceTaskBody = describedByUs(
  t.Object(
    {
      title: createTodoBody.properties.title,
      description: createTodoBody.properties.description,
      is_completed: t.Boolean(),
      priority,
    },
    { additionalProperties: false, examples: [replacement] },
  ),
);

export const taskListModel = t.Object({
  items: t.Array(taskModel),
  count: Type.Integer({ description: "How many tasks match the filters, on every page together" }),
});

// The todo-app's own list parameters, with its meanings: a page number and size (without either, every task).
export const TASK_PAGE_MAX = MAX_PAGE_LIMIT;
export const taskListQuery = describedByUs(
  t.Object(
    {
      status: t.Optional(
        t.Union([t.Literal("all"), t.Literal("pending"), t.Literal("completed")], {
          description: "pending, completed or all (the default)",
        }),
      ),
      priority: t.Optional(priority),
      search: t.Optional(
        t.String({
          format: "search-text",
          maxLength: MAX_SEARCH_LENGTH,
          description: `Only tasks whose title or description contains this text, case-insensitively; blank: no search`,
        }),
      ),
      sort_by: t.Optional(
        t.Union([t.Literal("created_at"), t.Literal("priority"), t.Literal("title")], {
          description: "created_at (the default), priority (descending: High, Medium, Low, each newest first) or title (case-insensitive)",
        }),
      ),
      sort_order: t.Optional(
        t.Union([t.Literal("asc"), t.Literal("desc")], { description: "desc (the default: newest, Z to A, High first) or asc" }),
      ),
      page: t.Optional(positiveIntegerQuery({ maximum: 1_000_000, default: 1, description: "The page, from 1; with page_size" })),
      page_size: t.Optional(
        positiveIntegerQuery({
          maximum: TASK_PAGE_MAX,
          default: 50,
          description: `Tasks per page, 1 to ${TASK_PAGE_MAX}; 50 when page is given alone. Without page or page_size: every task`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

export const taskMetricsModel = t.Object({
  total: Type.Integer(),
  completed: Type.Integer(),
  pending: Type.Integer({ description: "total - completed" }),
  overdue: Type.Integer({ description: "Always 0: tasks have no due date" }),
  high_priority: Type.Integer(),
  medium_priority: Type.Integer(),
  low_priority: Type.Integer(),
});

export const profileModel = t.Object({
  user_id: t.String({ description: "The token's subject: the id the front end knows its user by" }),
  email: t.Union([t.String(), t.Null()], { description: "The token's email claim; null without one" }),
  name: t.Union([t.String(), t.Null()], { description: "The token's name claim; null without one" }),
});

export const userPathParams = describedByUs(t.Object({ user_id: t.String() }));
export const taskPathParams = describedByUs(t.Object({ user_id: t.String(), id: t.String({ format: "api-uuid" }) }));

nameSchemas({
  Task: taskModel,
  TaskList: taskListModel,
  TaskReplacement: replaceTaskBody,
  TaskMetrics: taskMetricsModel,
  Profile: profileModel,
});

export type Task = typeof taskModel.static;
