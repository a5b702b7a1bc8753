// HTTP ⇄ store calls, nothing else.
import { Elysia } from "elysia";
import { ALWAYS_ANSWERED, BODY_ANSWERED, bodyProblems, documented } from "../api-docs/openapi";
import type { CallerResolver } from "../auth/caller";
import type { PRIORITIES } from "../db/schema";
import { TITLE_MAX_LENGTH } from "../db/schema";
import { invalidRequest } from "../http/errors";
import type { BodyLimits } from "../http/json-body";
import { clientHasCurrent, etagOf, etagOfText, revalidatable } from "../http/preconditions";
import { guarded, requiredVersions } from "./conditions";
import { decodeCursor, encodeCursor, filtersDigest } from "./cursor";
import {
  bulkQuery,
  bulkResultModel,
  changeTodoHeaders,
  createTodoBody,
  createTodoHeaders,
  DEFAULT_PAGE_LIMIT,
  MAX_PAGE_LIMIT,
  readTodoHeaders,
  todoIdParams,
  todoListQuery,
  todoModel,
  todoPageModel,
  updateTodoBody,
} from "./model";
import { allWithFilter, cursorOfAnotherList, filterOrAll, keyReused, limitReached, todoNotFound, todoProblems } from "./problems";
import type { TodoStore, VersionedTodo } from "./store";
import { NATURAL } from "./store-pages";

type Priority = (typeof PRIORITIES)[number];

// Examples of what the request schemas refuse (the platform describes these answers): built by the
// function that builds the real answer.
const tooLongTitle = { title: "x".repeat(TITLE_MAX_LENGTH + 1) };
const refused = {
  byId: { 400: { examples: { badId: invalidRequest("params", todoIdParams, { id: "not-a-uuid" }) } } },
  list: { 400: { examples: { badQuery: invalidRequest("query", todoListQuery, { limit: String(MAX_PAGE_LIMIT + 1) }) } } },
  create: { 422: { examples: { titleTooLong: invalidRequest("body", createTodoBody, tooLongTitle) } } },
  update: { 422: { examples: { titleTooLong: invalidRequest("body", updateTodoBody, tooLongTitle) } } },
  bulk: { 400: { examples: { noFilter: filterOrAll(), allWithFilter: allWithFilter() } } },
};

/** The filters of a bulk change, or the ApiError of a query that names none without all=true (or both). */
function bulkFilters(query: typeof bulkQuery.static) {
  const completed = query.completed === undefined ? undefined : String(query.completed) === "true";
  const filters = { completed, priorities: query.priority?.split(",") as Priority[] | undefined, q: query.q };
  const filtering = completed !== undefined || filters.priorities !== undefined || filters.q !== undefined;
  const all = query.all !== undefined && String(query.all) === "true";
  if (filtering && all) throw allWithFilter();
  if (!filtering && !all) throw filterOrAll();
  return filters;
}

function answersOf(maxTodosPerUser: number, bodyLimits: BodyLimits) {
  const own = todoProblems(maxTodosPerUser);
  const body = bodyProblems(bodyLimits);
  return {
    create: documented(
      {
        201: {
          description: "Created (or, with a repeated Idempotency-Key, the original create replayed)",
          schema: todoModel,
          headers: ["Location", "ETag", "Idempotent-Replayed"],
        },
      },
      [...ALWAYS_ANSWERED, ...BODY_ANSWERED],
      body,
      refused.create,
      { 409: own[409], 422: own[422] },
    ),
    list: documented(
      {
        200: { description: "A page of your todos", schema: todoPageModel, headers: ["Link", "ETag", "Cache-Control", "Vary"] },
        304: { description: "Not Modified: the ETag in If-None-Match is this page's; no body", headers: ["ETag", "Cache-Control", "Vary"] },
      },
      ALWAYS_ANSWERED,
      refused.list,
    ),
    get: documented(
      {
        200: { description: "The todo", schema: todoModel, headers: ["ETag", "Cache-Control", "Vary"] },
        304: { description: "Not Modified: the ETag in If-None-Match is current; no body", headers: ["ETag", "Cache-Control", "Vary"] },
      },
      ALWAYS_ANSWERED,
      refused.byId,
      { 404: own[404] },
    ),
    update: documented(
      { 200: { description: "The todo as changed", schema: todoModel, headers: ["ETag"] } },
      [...ALWAYS_ANSWERED, ...BODY_ANSWERED],
      body,
      refused.byId,
      refused.update,
      { 404: own[404], 412: own[412] },
    ),
    remove: documented({ 204: { description: "Deleted" } }, ALWAYS_ANSWERED, refused.byId, { 404: own[404], 412: own[412] }),
    updateAll: documented(
      { 200: { description: "How many todos were changed", schema: bulkResultModel } },
      [...ALWAYS_ANSWERED, ...BODY_ANSWERED],
      body,
      refused.bulk,
      refused.update,
    ),
    removeAll: documented({ 200: { description: "How many todos were deleted", schema: bulkResultModel } }, ALWAYS_ANSWERED, refused.bulk),
  };
}

// A relative reference (RFC 8288 resolves it against the URL the client asked for): correct behind any
// gateway that keeps the path, and built without the Host header, which the client controls.
const nextLink = (path: string, query: Record<string, string | undefined>) => {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return `<${path}?${params}>; rel="next"`;
};

export function todoRoutes(store: TodoStore, callerOf: CallerResolver, bodyLimits: BodyLimits) {
  const answers = answersOf(store.maxTodosPerUser, bodyLimits);
  return new Elysia({ prefix: "/todos", tags: ["todos"], normalize: false })
    .derive(async ({ request }) => ({ userId: (await callerOf(request.headers)).userId }))
    .post(
      "",
      async ({ userId, body, headers, path, set, status }) => {
        const created = await store.create(userId, body, headers["idempotency-key"]);
        if (created.outcome === "limit-reached") throw limitReached(store.maxTodosPerUser);
        if (created.outcome === "key-reused") throw keyReused();
        // The path as routed (behind a gateway that keeps it), never the client-controlled Host.
        set.headers.location = `${path}/${created.todo.id}`;
        set.headers.etag = etagOf(created.todo.id, created.version);
        if (created.outcome === "replayed") set.headers["idempotent-replayed"] = "true";
        return status(201, created.todo);
      },
      {
        body: createTodoBody,
        headers: createTodoHeaders,
        // Our body parser (app.ts) answers first; naming JSON here is what documents the body as application/json.
        parse: "json",
        response: answers.create.types,
        detail: {
          summary: "Create a todo; with an Idempotency-Key, safely retried",
          operationId: "createTodo",
          responses: answers.create.responses,
        },
      },
    )
    .get(
      "",
      async ({ userId, query, path, headers, set }) => {
        const limit = query.limit === undefined ? DEFAULT_PAGE_LIMIT : Number(query.limit);
        // On the wire, and so here, the text "true" or "false" (typed as the boolean a client sends).
        const completedText = query.completed === undefined ? undefined : String(query.completed);
        const filters = {
          completed: completedText === undefined ? undefined : completedText === "true",
          priorities: query.priority?.split(",") as Priority[] | undefined,
          q: query.q,
        };
        const sort = query.sort ?? "created_at";
        const order = query.order ?? NATURAL[sort];
        const digest = filtersDigest(filters);
        const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
        // Validation has checked the cursor already, so a cursor that does not decode here is a bug.
        if (query.cursor !== undefined && !cursor) throw new Error("a validated cursor did not decode");
        if (cursor && (cursor.sort !== sort || cursor.order !== order || cursor.filters !== digest)) throw cursorOfAnotherList();
        const { items, hasMore, total, last } = await store.list(userId, { limit, sort, order, filters, after: cursor?.position });
        const next_cursor = hasMore && last ? encodeCursor({ sort, order, filters: digest, position: last }) : null;
        if (next_cursor) {
          const { sort, order, priority, q } = query;
          set.headers.link = nextLink(path, {
            limit: String(limit),
            sort,
            order,
            completed: completedText,
            priority,
            q,
            cursor: next_cursor,
          });
        }
        // The page is read either way; a client whose copy is current is spared its bytes.
        const page = JSON.stringify({ items, count: items.length, total, next_cursor });
        const etag = etagOfText(page);
        revalidatable(set.headers, etag);
        // The text hashed is the text sent: a Response, so Elysia does not serialize the page a second time.
        if (clientHasCurrent(headers["if-none-match"], etag)) {
          // Also in set.status: the request log, metrics and traces read the status from there.
          set.status = 304;
          return new Response(null, { status: 304 });
        }
        return new Response(page, { headers: { "content-type": "application/json" } });
      },
      {
        query: todoListQuery,
        headers: readTodoHeaders,
        response: answers.list.types,
        detail: {
          summary: "List your todos, newest first, a page at a time",
          operationId: "listTodos",
          responses: answers.list.responses,
        },
      },
    )
    .patch("", async ({ userId, query, body }) => ({ count: await store.updateAll(userId, bulkFilters(query), body) }), {
      query: bulkQuery,
      body: updateTodoBody,
      parse: "json",
      response: answers.updateAll.types,
      detail: {
        summary: "Change every todo the filters match (all=true: every todo), in one step",
        operationId: "updateTodos",
        responses: answers.updateAll.responses,
      },
    })
    .delete("", async ({ userId, query }) => ({ count: await store.removeAll(userId, bulkFilters(query)) }), {
      query: bulkQuery,
      response: answers.removeAll.types,
      detail: {
        summary: "Delete every todo the filters match (completed=true: clear completed), in one step",
        operationId: "deleteTodos",
        responses: answers.removeAll.responses,
      },
    })
    .get(
      "/:id",
      async ({ userId, params, headers, set, status }) => {
        const ifNoneMatch = headers["if-none-match"];
        if (ifNoneMatch !== undefined) {
          // A client that has a copy is asked about its version first: a current copy is answered without
          // the todo being read or sent (a stale one costs a second lookup).
          const version = await store.version(userId, params.id);
          if (version === undefined) throw todoNotFound();
          const etag = etagOf(params.id.toLowerCase(), version);
          if (clientHasCurrent(ifNoneMatch, etag)) {
            revalidatable(set.headers, etag);
            return status(304, undefined);
          }
        }
        const found = await store.get(userId, params.id);
        if (!found) throw todoNotFound();
        revalidatable(set.headers, etagOf(found.todo.id, found.version));
        return found.todo;
      },
      {
        params: todoIdParams,
        headers: readTodoHeaders,
        response: answers.get.types,
        detail: { summary: "Retrieve one of your todos", operationId: "getTodo", responses: answers.get.responses },
      },
    )
    .patch(
      "/:id",
      async ({ userId, params, body, headers, set }) => {
        const ifVersions = await requiredVersions(store, userId, params.id, headers, todoNotFound);
        const { todo, version }: VersionedTodo = guarded(await store.update(userId, params.id, body, ifVersions), todoNotFound);
        set.headers.etag = etagOf(todo.id, version);
        return todo;
      },
      {
        params: todoIdParams,
        body: updateTodoBody,
        headers: changeTodoHeaders,
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
      async ({ userId, params, headers, status }) => {
        guarded(
          await store.remove(userId, params.id, await requiredVersions(store, userId, params.id, headers, todoNotFound)),
          todoNotFound,
        );
        return status(204, undefined);
      },
      {
        params: todoIdParams,
        headers: changeTodoHeaders,
        response: answers.remove.types,
        detail: { summary: "Delete one of your todos", operationId: "deleteTodo", responses: answers.remove.responses },
      },
    );
}
