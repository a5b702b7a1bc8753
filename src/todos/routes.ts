// HTTP ⇄ store calls, nothing else.
import { Elysia } from "elysia";
import { ApiError, documentedResponses } from "../http/problem";
import type { UserContext } from "../http/user-context";
import { createTodoBody, todoIdParams, todoListModel, todoModel, updateTodoBody } from "./model";
import type { TodoStore } from "./store";

// Another user's todo answers exactly like a missing one, so ids cannot be probed.
const notFound = () => new ApiError(404, "NOT_FOUND", "No todo with this id exists.");
const limitReached = (limit: number) =>
  new ApiError(409, "TODO_LIMIT_REACHED", `You already have ${limit} todos, the most one user may keep; delete some to make room.`);

// Every route may answer these; a body adds 413, 415 and 422, a path id 404.
const always = [400, 401, 503];
const withBody = [413, 415, 422];

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
      async ({ userId }) => {
        const items = await todos.list(userId);
        return { items, count: items.length };
      },
      {
        detail: {
          summary: "List your todos, newest first",
          operationId: "listTodos",
          responses: documentedResponses({ 200: todoListModel }, always),
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
