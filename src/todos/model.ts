// The todo's schemas: the single source of truth for request validation, the store's types
// and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t } from "elysia";
import { nameSchemas } from "../api-docs/openapi";
import {
  DEFAULT_PRIORITY,
  DESCRIPTION_MAX_LENGTH,
  IDEMPOTENCY_KEY_HOURS,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  PRIORITIES,
  TITLE_MAX_LENGTH,
} from "../db/schema";
import { booleanQuery, describedByUs, positiveIntegerQuery, registerFormat } from "../http/validation";
import { decodeCursor } from "./cursor";
import { SORTS } from "./store-pages";
import { decodeSyncToken } from "./sync-token";

const title = t.String({ format: "visible-text", minLength: 1, maxLength: TITLE_MAX_LENGTH, examples: ["Buy milk"] });
const description = t.Union([t.String({ format: "plain-text", maxLength: DESCRIPTION_MAX_LENGTH }), t.Null()], {
  description: `Free text, at most ${DESCRIPTION_MAX_LENGTH} characters; null when absent.`,
});

// A union of literals, TypeBox's own (Elysia's t.UnionEnum is a kind of its own, which takes the whole
// body's schema off TypeBox's compiled checks). No default for Elysia to fill in: the store does, so a
// replayed create compares what was sent.
const [high, medium, low] = PRIORITIES;
const priorityOf = (options?: { description: string }) => t.Union([t.Literal(high), t.Literal(medium), t.Literal(low)], options);
export const priority = priorityOf({ description: `${PRIORITIES.join(", ")}; ${DEFAULT_PRIORITY} when not given` });

export const todoModel = t.Object({
  id: t.String({ format: "uuid" }),
  title: t.String({ examples: ["Buy milk"] }),
  description: t.Union([t.String(), t.Null()]),
  is_completed: t.Boolean(),
  priority: priorityOf(),
  created_at: t.String({
    format: "date-time",
    description: "ISO-8601, UTC, millisecond precision",
    examples: ["2026-05-01T09:30:00.000Z"],
  }),
  updated_at: t.String({
    format: "date-time",
    description: "When the todo last changed (equal to created_at until then); ISO-8601, UTC, millisecond precision",
    examples: ["2026-05-01T09:30:00.000Z"],
  }),
  user_id: t.String({ format: "uuid", description: "The owner: GET /api/v1/me says which id you are" }),
});

// Whole-body examples: what Swagger UI's "Try it out" starts from. A change names one field, so that
// sending it unedited changes nothing the user did not choose.
export const createTodoBody = describedByUs(
  t.Object(
    { title, description: t.Optional(description), priority: t.Optional(priority) },
    { additionalProperties: false, examples: [{ title: "Buy milk", description: "Two litres, semi-skimmed", priority: "High" }] },
  ),
);

export const updateTodoBody = describedByUs(
  t.Object(
    {
      title: t.Optional(title),
      description: t.Optional(description),
      is_completed: t.Optional(t.Boolean()),
      priority: t.Optional(priority),
    },
    { additionalProperties: false, minProperties: 1, examples: [{ is_completed: true }] },
  ),
);

// Headers are read here as plain strings; http/preconditions.ts gives them meaning. The caller's own
// headers are listed too (checked by auth/caller.ts, not here), so that typed clients such as Eden
// Treaty may send them along.
const callerHeaders = {
  "x-user-id": t.Optional(t.String({ description: "Header mode: the caller's user id (see the userIdHeader scheme)" })),
  authorization: t.Optional(t.String({ description: "Bearer mode: `Bearer <jwt>` (see the bearerAuth scheme)" })),
};

export const createTodoHeaders = describedByUs(
  t.Object({
    ...callerHeaders,
    "idempotency-key": t.Optional(
      t.String({
        format: "idempotency-key",
        description: `1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters, unique per create (a UUID, say). Remembered for ${IDEMPOTENCY_KEY_HOURS} hours per user: a repeat with the same body answers the original 201 (with Idempotent-Replayed: true) and creates nothing; a different body is 422 IDEMPOTENCY_KEY_REUSED`,
        examples: ["8e03978e-40d5-43e8-bc93-6894a57f9324"],
      }),
    ),
  }),
);

export const readTodoHeaders = describedByUs(
  t.Object({
    ...callerHeaders,
    "if-none-match": t.Optional(t.String({ description: "The ETag of your copy: 304 with no body while it is unchanged" })),
  }),
);

export const changeTodoHeaders = describedByUs(
  t.Object({
    ...callerHeaders,
    "if-match": t.Optional(
      t.String({
        description:
          "The ETag of your copy: the change is applied only if the todo is unchanged since, else 412 PRECONDITION_FAILED and nothing changes. `*`: any existing todo",
      }),
    ),
    "if-none-match": t.Optional(
      t.String({
        description: "ETags the todo must not be at (`*`: it must not exist): 412 PRECONDITION_FAILED if it is, and nothing changes",
      }),
    ),
  }),
);

export const todoIdParams = describedByUs(t.Object({ id: t.String({ format: "api-uuid" }) }));

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_SEARCH_LENGTH = 100;
export const MAX_PAGE_LIMIT = 200;

registerFormat("todo-cursor", {
  check: (value) => decodeCursor(value) !== undefined,
  message: "is not a cursor from this service; use next_cursor of the previous page as it is",
});

registerFormat("priority-list", {
  check: (value) => value.split(",").every((each) => (PRIORITIES as readonly string[]).includes(each)),
  message: `must be one or more of ${PRIORITIES.join(", ")}, separated by commas`,
});

// Unknown parameters are refused: a misspelt filter (`is_completed=true`) would otherwise answer
// every todo, and the mistake would go unseen.
export const todoListQuery = describedByUs(
  t.Object(
    {
      limit: t.Optional(
        positiveIntegerQuery({
          maximum: MAX_PAGE_LIMIT,
          default: DEFAULT_PAGE_LIMIT,
          description: `Todos per page, an integer from 1 to ${MAX_PAGE_LIMIT}; default ${DEFAULT_PAGE_LIMIT}`,
        }),
      ),
      cursor: t.Optional(
        t.String({
          format: "todo-cursor",
          description: "Where the page starts: next_cursor of the previous page, as is, with the same sort, order and filters",
        }),
      ),
      sort: t.Optional(
        t.Union(
          SORTS.map((sort) => t.Literal(sort)),
          {
            description: "created_at (default), updated_at, title (case-insensitive, then id) or priority (High first, then newest)",
          },
        ),
      ),
      order: t.Optional(
        t.Union([t.Literal("asc"), t.Literal("desc")], {
          description: "asc or desc; by default each sort's own: newest first, A to Z, High first",
        }),
      ),
      completed: t.Optional(booleanQuery("Only completed (true) or open (false) todos; absent: all")),
      priority: t.Optional(
        t.String({ format: "priority-list", description: `Only todos of these priorities, e.g. High or High,Medium`, examples: ["High"] }),
      ),
      q: t.Optional(
        t.String({
          format: "visible-text",
          minLength: 1,
          maxLength: MAX_SEARCH_LENGTH,
          description: `Only todos whose title or description contains this text, case-insensitively; 1 to ${MAX_SEARCH_LENGTH} characters`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

// Bulk changes take the list's filters; with none, `all=true` says that every todo is meant.
const { completed: completedFilter, priority: priorityFilter, q: searchFilter } = todoListQuery.properties;
export const bulkQuery = describedByUs(
  t.Object(
    {
      completed: completedFilter,
      priority: priorityFilter,
      q: searchFilter,
      all: t.Optional(
        booleanQuery("true: every todo, when no filter is given (required then, so that no call changes everything by mistake)"),
      ),
    },
    { additionalProperties: false },
  ),
);

export const bulkResultModel = t.Object({ count: Type.Integer({ description: "How many todos were changed (or deleted)" }) });

export const todoPageModel = t.Object({
  items: t.Array(todoModel),
  // TypeBox's Type.Integer: Elysia's t.Integer also accepts a numeric string, and is documented as `string | integer`.
  count: Type.Integer({ description: "The number of items in this page" }),
  total: Type.Integer({ description: "The number of todos the filters match, on every page together" }),
  next_cursor: t.Union([t.String(), t.Null()], { description: "The cursor of the next page; null on the last page" }),
});

nameSchemas({
  Todo: todoModel,
  TodoPage: todoPageModel,
  NewTodo: createTodoBody,
  TodoChanges: updateTodoBody,
  BulkResult: bulkResultModel,
});

export type Todo = typeof todoModel.static;
export type NewTodo = typeof createTodoBody.static;
export type TodoChanges = typeof updateTodoBody.static;

// The change feed (GET /todos/changes) and the live stream of the same changes (GET /todos/events).
export const DEFAULT_FEED_LIMIT = 200;
export const MAX_FEED_LIMIT = 1000;

registerFormat("sync-token", {
  check: (value) => decodeSyncToken(value) !== undefined,
  message: "is not a sync token from this service; use next_since of the previous page (or an event's id) as it is",
});

const since = t.String({
  format: "sync-token",
  description:
    "Changes after this point: next_since of the previous page, or the id of the last event received, as is. Absent: from the start",
});

export const changesQuery = describedByUs(
  t.Object(
    {
      since: t.Optional(since),
      limit: t.Optional(
        positiveIntegerQuery({
          maximum: MAX_FEED_LIMIT,
          default: DEFAULT_FEED_LIMIT,
          description: `Changes per page, an integer from 1 to ${MAX_FEED_LIMIT}; default ${DEFAULT_FEED_LIMIT}`,
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

export const eventsQuery = describedByUs(t.Object({ since: t.Optional(since) }, { additionalProperties: false }));

export const eventsHeaders = describedByUs(
  t.Object({
    ...callerHeaders,
    "last-event-id": t.Optional(
      t.String({ format: "sync-token", description: "Sent by EventSource on a reconnect: the stream resumes after this event" }),
    ),
  }),
);

export const todoChangeModel = t.Union([
  t.Object({ type: t.Literal("upsert"), todo: todoModel }, { description: "The todo was created or changed: its state now" }),
  t.Object({ type: t.Literal("delete"), id: t.String({ format: "uuid" }) }, { description: "The todo was deleted" }),
]);

export const changePageModel = t.Object({
  changes: t.Array(todoChangeModel, { description: "Oldest first; each todo at most once, in its latest state" }),
  next_since: t.String({ description: "Where the next call starts: send it as since" }),
  has_more: t.Boolean({ description: "More changes follow now: call again with next_since at once" }),
});

nameSchemas({ TodoChange: todoChangeModel, ChangePage: changePageModel });

export type TodoChange = typeof todoChangeModel.static;
