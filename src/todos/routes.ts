// HTTP ⇄ store calls, nothing else.
import { Elysia, t } from "elysia";
import { ApiError } from "../http/problem";
import type { UserContext } from "../http/user-context";
import { createTodoBody, problemModel, todoIdParams, todoListModel, todoModel, updateTodoBody } from "./model";
import type { TodoStore } from "./store";

// Another user's todo answers exactly like a missing one, so ids cannot be probed.
const notFound = () => new ApiError(404, "NOT_FOUND", "No todo with this id exists.");

const errors = { 400: problemModel, 401: problemModel, 422: problemModel, 503: problemModel };

export function todoRoutes(todos: TodoStore, userIdOf: UserContext) {
  return new Elysia({ prefix: "/todos", tags: ["todos"], normalize: false })
    .derive(async ({ request }) => ({ userId: await userIdOf(request.headers) }))
    .post("", async ({ userId, body, status }) => status(201, await todos.create(userId, body)), {
      body: createTodoBody,
      response: { 201: todoModel, ...errors },
      detail: { summary: "Create a todo", operationId: "createTodo" },
    })
    .get(
      "",
      async ({ userId }) => {
        const items = await todos.list(userId);
        return { items, count: items.length };
      },
      {
        response: { 200: todoListModel, ...errors },
        detail: { summary: "List your todos, newest first", operationId: "listTodos" },
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
        response: { 200: todoModel, 404: problemModel, ...errors },
        detail: { summary: "Retrieve one of your todos", operationId: "getTodo" },
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
        response: { 200: todoModel, 404: problemModel, ...errors },
        detail: { summary: "Change the title, description or completion of a todo", operationId: "updateTodo" },
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
        response: { 204: t.Void(), 404: problemModel, ...errors },
        detail: { summary: "Delete one of your todos", operationId: "deleteTodo" },
      },
    );
}
