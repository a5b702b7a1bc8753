// HTTP ⇄ store calls, nothing else.
import { Elysia } from "elysia";
import { ApiError, documentedResponses } from "../http/problem";
import type { UserContext } from "../http/user-context";
import { decodeCursor, encodeCursor } from "./cursor";
import { createTodoBody, DEFAULT_PAGE_LIMIT, todoIdParams, todoListQuery, todoModel, todoPageModel, updateTodoBody } from "./model";
import type { TodoStore } from "./store";

// Another user's todo answers exactly like a missing one, so ids cannot be probed.
const notFound = () => new ApiError(404, "NOT_FOUND", "No todo with this id exists.");
const limitReached = (limit: number) =>
  new ApiError(409, "TODO_LIMIT_REACHED", `You already have ${limit} todos, the most one user may keep; delete some to make room.`);

// Every route may answer these; a body adds 413, 415 and 422, a path id 404.
const always = [400, 401, 503];
const withBody = [413, 415, 422];

// A relative reference (RFC 8288 resolves it against the URL the client asked for): correct behind any
// gateway that keeps the path, and built without the Host header, which the client controls.
const nextLink = (path: string, query: Record<string, string | undefined>) => {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `<${path}?${params}>; rel="next"`;
};

const linkHeader = {
  link: {
    description:
      'RFC 8288 `<...>; rel="next"`, only when a next page exists: this path with the same limit and completed, and the next cursor',
    schema: { type: "string" as const },
  },
};

export function todoRoutes(todos: TodoStore, callerOf: UserContext) {
  return new Elysia({ prefix: "/todos", tags: ["todos"], normalize: false })
    .derive(async ({ request }) => ({ userId: (await callerOf(request.headers)).userId }))
    .post(
      "",
      async ({ userId, body, status }) => {
        const todo = await todos.create(userId, body);
        if (!todo) throw limitReached(todos.maxTodosPerUser);
        return status(201, todo);
      },
      {
        body: createTodoBody,
        detail: {
          summary: "Create a todo",
          operationId: "createTodo",
          responses: documentedResponses({ 201: todoModel }, [...always, ...withBody, 408, 409]),
        },
      },
    )
    .get(
      "",
      async ({ userId, query, path, set }) => {
        const limit = query.limit === undefined ? DEFAULT_PAGE_LIMIT : Number(query.limit);
        const completed = query.completed === undefined ? undefined : query.completed === "true";
        // Validation has checked the cursor already, so a cursor that does not decode here is a bug.
        const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
        if (query.cursor !== undefined && !after) throw new Error("a validated cursor did not decode");
        const { items, hasMore } = await todos.list(userId, { limit, after, completed });
        const last = items.at(-1);
        const next_cursor = hasMore && last ? encodeCursor(last) : null;
        if (next_cursor) set.headers.link = nextLink(path, { limit: String(limit), completed: query.completed, cursor: next_cursor });
        return { items, count: items.length, next_cursor };
      },
      {
        query: todoListQuery,
        detail: {
          summary: "List your todos, newest first, a page at a time",
          operationId: "listTodos",
          responses: documentedResponses({ 200: todoPageModel }, always, linkHeader),
        },
      },
    )
    .get(
      "/:id",
      async ({ userId, params }) => {
        const todo = await todos.get(userId, params.id);
        if (!todo) throw notFound();
        return todo;
      },
      {
        params: todoIdParams,
        detail: {
          summary: "Retrieve one of your todos",
          operationId: "getTodo",
          responses: documentedResponses({ 200: todoModel }, [...always, 404]),
        },
      },
    )
    .patch(
      "/:id",
      async ({ userId, params, body }) => {
        const todo = await todos.update(userId, params.id, body);
        if (!todo) throw notFound();
        return todo;
      },
      {
        params: todoIdParams,
        body: updateTodoBody,
        detail: {
          summary: "Change the title, description or completion of a todo",
          operationId: "updateTodo",
          responses: documentedResponses({ 200: todoModel }, [...always, 404, ...withBody, 408]),
        },
      },
    )
    .delete(
      "/:id",
      async ({ userId, params, status }) => {
        if (!(await todos.remove(userId, params.id))) throw notFound();
        return status(204, undefined);
      },
      {
        params: todoIdParams,
        detail: {
          summary: "Delete one of your todos",
          operationId: "deleteTodo",
          responses: documentedResponses({ 204: undefined }, [...always, 404]),
        },
      },
    );
}
