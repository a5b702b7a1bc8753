// HTTP ⇄ store calls, nothing else.
import { Elysia } from "elysia";
import { documented } from "../http/openapi";
import { ApiError } from "../http/problem";
import type { UserContext } from "../http/user-context";
import { decodeCursor, encodeCursor } from "./cursor";
import { createTodoBody, DEFAULT_PAGE_LIMIT, todoIdParams, todoListQuery, todoModel, todoPageModel, updateTodoBody } from "./model";
import type { TodoStore } from "./store";

// Another user's todo answers exactly like a missing one, so ids cannot be probed.
const notFound = () => new ApiError(404, "NOT_FOUND", "No todo with this id exists.");
const limitReached = (limit: number) =>
  new ApiError(409, "TODO_LIMIT_REACHED", `You already have ${limit} todos, the most one user may keep; delete some to make room.`);

// Every route may answer these; a body adds 413, 415 and 422 (and 408 while it arrives), a path id 404.
const always = [400, 401, 503] as const;
const withBody = [408, 413, 415, 422] as const;

const answers = {
  create: documented({ 201: { description: "Created", schema: todoModel, headers: ["Location"] } }, [...always, ...withBody, 409]),
  list: documented({ 200: { description: "A page of your todos", schema: todoPageModel, headers: ["Link"] } }, always),
  get: documented({ 200: { description: "The todo", schema: todoModel } }, [...always, 404]),
  update: documented({ 200: { description: "The todo as changed", schema: todoModel } }, [...always, 404, ...withBody]),
  remove: documented({ 204: { description: "Deleted" } }, [...always, 404]),
};

// A relative reference (RFC 8288 resolves it against the URL the client asked for): correct behind any
// gateway that keeps the path, and built without the Host header, which the client controls.
const nextLink = (path: string, query: Record<string, string | undefined>) => {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `<${path}?${params}>; rel="next"`;
};

export function todoRoutes(todos: TodoStore, callerOf: UserContext) {
  return new Elysia({ prefix: "/todos", tags: ["todos"], normalize: false })
    .derive(async ({ request }) => ({ userId: (await callerOf(request.headers)).userId }))
    .post(
      "",
      async ({ userId, body, path, set, status }) => {
        const todo = await todos.create(userId, body);
        if (!todo) throw limitReached(todos.maxTodosPerUser);
        // The path as routed (behind a gateway that keeps it), never the client-controlled Host.
        set.headers.location = `${path}/${todo.id}`;
        return status(201, todo);
      },
      {
        body: createTodoBody,
        // Our body parser (app.ts) answers first; naming JSON here is what documents the body as application/json.
        parse: "json",
        response: answers.create.types,
        detail: { summary: "Create a todo", operationId: "createTodo", responses: answers.create.responses },
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
        response: answers.list.types,
        detail: {
          summary: "List your todos, newest first, a page at a time",
          operationId: "listTodos",
          responses: answers.list.responses,
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
        response: answers.get.types,
        detail: { summary: "Retrieve one of your todos", operationId: "getTodo", responses: answers.get.responses },
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
        parse: "json",
        response: answers.update.types,
        detail: {
          summary: "Change the title, description or completion of a todo",
          operationId: "updateTodo",
          responses: answers.update.responses,
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
        response: answers.remove.types,
        detail: { summary: "Delete one of your todos", operationId: "deleteTodo", responses: answers.remove.responses },
      },
    );
}
