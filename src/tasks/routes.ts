// The todo-app front end's API (its Phase II contract, /api/{user_id}/tasks), over the same store and the
// same isolation as /api/v1: HTTP ⇄ store calls, nothing else.
import { Elysia } from "elysia";
import { ALWAYS_ANSWERED, BODY_ANSWERED, bodyProblems, documented } from "../api-docs/openapi";
import type { Caller, CallerResolver } from "../auth/caller";
import { TITLE_MAX_LENGTH } from "../db/schema";
import { invalidRequest } from "../http/errors";
import type { BodyLimits } from "../http/json-body";
import { clientHasCurrent, etagOf, etagOfText, revalidatable } from "../http/preconditions";
import { type ConditionHeaders, guarded, requiredVersions } from "../todos/conditions";
import { changeTodoHeaders, createTodoBody, createTodoHeaders, readTodoHeaders, type Todo } from "../todos/model";
import { keyReused, limitReached, todoProblems } from "../todos/problems";
import type { GuardedOutcome, TodoStore, VersionedTodo } from "../todos/store";
import { callerOnlyProblems } from "../users/routes";
import {
  profileModel,
  replacement,
  replaceTaskBody,
  type Task,
  taskListModel,
  taskListQuery,
  taskMetricsModel,
  taskModel,
  taskPathParams,
  userPathParams,
} from "./model";
import { notYourTasks, taskNotFound, taskProblems } from "./problems";

const taskOf = ({ id, title, description, is_completed, priority, created_at }: Todo, subject: string): Task => ({
  id,
  title,
  description,
  is_completed,
  priority,
  created_at,
  user_id: subject,
});

// Examples of what the request schemas refuse, built by the function that builds the real answer.
const tooLongTitle = { title: "x".repeat(TITLE_MAX_LENGTH + 1) };
const refused = {
  byId: { 400: { examples: { badId: invalidRequest("params", taskPathParams, { user_id: "someone", id: "not-a-uuid" }) } } },
  create: { 422: { examples: { titleTooLong: invalidRequest("body", createTodoBody, tooLongTitle) } } },
  replace: { 422: { examples: { titleTooLong: invalidRequest("body", replaceTaskBody, { ...replacement, ...tooLongTitle }) } } },
};

function answersOf(maxTodosPerUser: number, bodyLimits: BodyLimits) {
  const todo = todoProblems(maxTodosPerUser);
  const body = bodyProblems(bodyLimits);
  const mine = { 403: taskProblems[403] };
  const byId = { ...mine, 404: taskProblems[404], ...refused.byId };
  const changed = { 200: { description: "The task as changed", schema: taskModel, headers: ["ETag" as const] } };
  return {
    create: documented(
      {
        201: {
          description: "Created (or replayed, with a repeated Idempotency-Key)",
          schema: taskModel,
          headers: ["Location", "ETag", "Idempotent-Replayed"],
        },
      },
      [...ALWAYS_ANSWERED, ...BODY_ANSWERED],
      body,
      mine,
      refused.create,
      { 409: todo[409], 422: todo[422] },
    ),
    list: documented(
      {
        200: {
          description: "The tasks the filters match, in the order asked; a page of them with page or page_size",
          schema: taskListModel,
          headers: ["ETag", "Cache-Control", "Vary"],
        },
        304: { description: "Not Modified: the ETag in If-None-Match is the list's", headers: ["ETag", "Cache-Control", "Vary"] },
      },
      ALWAYS_ANSWERED,
      mine,
    ),
    metrics: documented({ 200: { description: "How many tasks, by state and priority", schema: taskMetricsModel } }, ALWAYS_ANSWERED, mine),
    get: documented(
      {
        200: { description: "The task", schema: taskModel, headers: ["ETag", "Cache-Control", "Vary"] },
        304: { description: "Not Modified: the ETag in If-None-Match is current", headers: ["ETag", "Cache-Control", "Vary"] },
      },
      ALWAYS_ANSWERED,
      byId,
    ),
    replace: documented(changed, [...ALWAYS_ANSWERED, ...BODY_ANSWERED], body, byId, refused.replace, { 412: todo[412] }),
    change: documented(changed, ALWAYS_ANSWERED, byId, { 412: todo[412] }),
    remove: documented({ 204: { description: "Deleted" } }, ALWAYS_ANSWERED, byId, { 412: todo[412] }),
    me: documented({ 200: { description: "Who you are, from your token", schema: profileModel } }, [400, 401], callerOnlyProblems),
  };
}

export function taskRoutes(store: TodoStore, callerOf: CallerResolver, bodyLimits: BodyLimits) {
  /** A change of task `id` under its conditions: the task as changed, with its new ETag. */
  async function change(
    userId: string,
    subject: string,
    id: string,
    headers: ConditionHeaders,
    set: { headers: Record<string, string | number> },
    apply: (ifVersions: number[] | undefined) => Promise<GuardedOutcome<VersionedTodo>>,
  ): Promise<Task> {
    const { todo, version } = guarded(await apply(await requiredVersions(store, userId, id, headers, taskNotFound)), taskNotFound);
    set.headers.etag = etagOf(todo.id, version);
    return taskOf(todo, subject);
  }

  const answers = answersOf(store.maxTodosPerUser, bodyLimits);
  const tag = ["todo-app compatibility"];
  const tasks = new Elysia({ prefix: "/:user_id/tasks", tags: tag, normalize: false })
    // 401 without credentials, then 403 when the path names someone else, before anything else is read.
    .derive(async ({ request, params }) => {
      const caller: Caller = await callerOf(request.headers);
      if ((params as { user_id?: string }).user_id !== caller.subject) throw notYourTasks();
      return { userId: caller.userId, subject: caller.subject };
    })
    .post(
      "",
      async ({ userId, subject, body, headers, path, set, status }) => {
        const created = await store.create(userId, body, headers["idempotency-key"]);
        if (created.outcome === "limit-reached") throw limitReached(store.maxTodosPerUser);
        if (created.outcome === "key-reused") throw keyReused();
        set.headers.location = `${path}/${created.todo.id}`;
        set.headers.etag = etagOf(created.todo.id, created.version);
        if (created.outcome === "replayed") set.headers["idempotent-replayed"] = "true";
        return status(201, taskOf(created.todo, subject));
      },
      {
        params: userPathParams,
        body: createTodoBody,
        headers: createTodoHeaders,
        parse: "json",
        response: answers.create.types,
        detail: { summary: "Create a task", operationId: "createTask", responses: answers.create.responses },
      },
    )
    .get(
      "",
      async ({ userId, subject, query, headers, set }) => {
        const filters = {
          completed: query.status === undefined || query.status === "all" ? undefined : query.status === "completed",
          priorities: query.priority && [query.priority],
          // As the todo-app: a blank search is none.
          q: query.search?.trim() || undefined,
        };
        const sort = query.sort_by ?? "created_at";
        // Descending (the todo-app's default) is from the most to the least: newest, Z to A, and High to Low, which
        // is the store's own priority order (ascending through the enum).
        const descending = (query.sort_order ?? "desc") === "desc";
        const order = sort === "priority" ? (descending ? "asc" : "desc") : descending ? "desc" : "asc";
        // Page numbers, as the todo-app counts them: the pages before are read and passed over (a user has at
        // most MAX_TODOS_PER_USER). Without page or page_size, every task.
        const paged = query.page !== undefined || query.page_size !== undefined;
        const size = paged ? Number(query.page_size ?? 50) : store.maxTodosPerUser;
        const skipped = (Number(query.page ?? 1) - 1) * size;
        const { items, total } = await store.list(userId, { limit: Math.min(skipped + size, store.maxTodosPerUser), sort, order, filters });
        const list = JSON.stringify({ items: items.slice(skipped).map((todo) => taskOf(todo, subject)), count: total });
        const etag = etagOfText(list);
        revalidatable(set.headers, etag);
        if (clientHasCurrent(headers["if-none-match"], etag)) {
          set.status = 304;
          return new Response(null, { status: 304 });
        }
        return new Response(list, { headers: { "content-type": "application/json" } });
      },
      {
        params: userPathParams,
        query: taskListQuery,
        headers: readTodoHeaders,
        response: answers.list.types,
        detail: {
          summary: "List tasks: filtered, sorted, a page at a time (or all)",
          operationId: "listTasks",
          responses: answers.list.responses,
        },
      },
    )
    .get(
      "/metrics",
      async ({ userId }) => {
        const { total, completed, high, medium, low } = await store.summary(userId);
        return {
          total,
          completed,
          pending: total - completed,
          overdue: 0,
          high_priority: high,
          medium_priority: medium,
          low_priority: low,
        };
      },
      {
        params: userPathParams,
        response: answers.metrics.types,
        detail: { summary: "Count the tasks", operationId: "taskMetrics", responses: answers.metrics.responses },
      },
    )
    .get(
      "/:id",
      async ({ userId, subject, params, headers, set, status }) => {
        const found = await store.get(userId, params.id);
        if (!found) throw taskNotFound();
        const etag = etagOf(found.todo.id, found.version);
        revalidatable(set.headers, etag);
        if (clientHasCurrent(headers["if-none-match"], etag)) return status(304, undefined);
        return taskOf(found.todo, subject);
      },
      {
        params: taskPathParams,
        headers: readTodoHeaders,
        response: answers.get.types,
        detail: { summary: "Retrieve a task", operationId: "getTask", responses: answers.get.responses },
      },
    )
    .put(
      "/:id",
      async ({ userId, subject, params, body, headers, set }) => {
        const replacement = { ...body, description: body.description ?? null };
        return change(userId, subject, params.id, headers, set, (ifVersions) => store.update(userId, params.id, replacement, ifVersions));
      },
      {
        params: taskPathParams,
        body: replaceTaskBody,
        headers: changeTodoHeaders,
        parse: "json",
        response: answers.replace.types,
        detail: { summary: "Replace a task", operationId: "replaceTask", responses: answers.replace.responses },
      },
    )
    .patch(
      "/:id/complete",
      async ({ userId, subject, params, headers, set }) => {
        return change(userId, subject, params.id, headers, set, (ifVersions) => store.toggleCompletion(userId, params.id, ifVersions));
      },
      {
        params: taskPathParams,
        headers: changeTodoHeaders,
        response: answers.change.types,
        detail: { summary: "Toggle a task's completion", operationId: "toggleTask", responses: answers.change.responses },
      },
    )
    .post(
      "/:id/complete",
      async ({ userId, subject, params, headers, set }) => {
        return change(userId, subject, params.id, headers, set, (ifVersions) =>
          store.update(userId, params.id, { is_completed: true }, ifVersions),
        );
      },
      {
        params: taskPathParams,
        headers: changeTodoHeaders,
        response: answers.change.types,
        detail: { summary: "Mark a task completed", operationId: "completeTask", responses: answers.change.responses },
      },
    )
    .delete(
      "/:id",
      async ({ userId, params, headers, status }) => {
        guarded(
          await store.remove(userId, params.id, await requiredVersions(store, userId, params.id, headers, taskNotFound)),
          taskNotFound,
        );
        return status(204, undefined);
      },
      {
        params: taskPathParams,
        headers: changeTodoHeaders,
        response: answers.remove.types,
        detail: { summary: "Delete a task", operationId: "deleteTask", responses: answers.remove.responses },
      },
    );
  const me = new Elysia({ tags: tag, normalize: false }).get(
    "/me",
    async ({ request }) => {
      const { subject, email, name } = await callerOf(request.headers);
      return { user_id: subject, email, name };
    },
    {
      response: answers.me.types,
      detail: { summary: "Who you are, as the front end knows you", operationId: "getProfile", responses: answers.me.responses },
    },
  );
  return new Elysia({ normalize: false }).use(tasks).use(me);
}
