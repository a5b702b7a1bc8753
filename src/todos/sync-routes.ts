// HTTP ⇄ the change feed and its live stream: GET /todos/changes and GET /todos/events.
import { Elysia } from "elysia";
import { ALWAYS_ANSWERED, documented } from "../api-docs/openapi";
import { tokenExpired } from "../auth/bearer";
import type { CallerResolver } from "../auth/caller";
import { invalidRequest } from "../http/errors";
import type { LiveChanges } from "./live";
import { changePageModel, changesQuery, DEFAULT_FEED_LIMIT, eventsHeaders, eventsQuery, MAX_FEED_LIMIT } from "./model";
import { syncProblems, syncTokenExpired } from "./problems";
import type { TodoStore } from "./store";
import { decodeSyncToken, encodeSyncToken, FEED_START, type SyncPosition } from "./sync-token";

// Validation has checked the token already, so a token that does not decode here is a bug.
function positionOf(token: string | undefined): SyncPosition {
  if (token === undefined) return FEED_START;
  const position = decodeSyncToken(token);
  if (!position) throw new Error("a validated sync token did not decode");
  return position;
}

function answersOf(maxStreamsPerUser: number) {
  const own = syncProblems(maxStreamsPerUser);
  const badLimit = invalidRequest("query", changesQuery, { limit: String(MAX_FEED_LIMIT + 1) });
  return {
    changes: documented(
      { 200: { description: "Your changes since `since`, oldest first", schema: changePageModel } },
      ALWAYS_ANSWERED,
      { 400: { examples: { badLimit } } },
      { 410: own[410] },
    ),
    events: documented(
      {
        200: {
          description:
            "A stream of server-sent events: each change as `id: <token>`, `event: change`, `data: <the change as JSON>`; first those since `since` (or Last-Event-ID), then each as it happens; a comment line every SSE_HEARTBEAT_S seconds. It ends when your bearer token expires: reconnect with a fresh one and Last-Event-ID",
          mediaType: "text/event-stream",
        },
      },
      ALWAYS_ANSWERED,
      { 410: own[410], 429: own[429], 503: own[503] },
    ),
  };
}

export function syncRoutes(store: TodoStore, live: LiveChanges, callerOf: CallerResolver, maxStreamsPerUser: number) {
  const answers = answersOf(maxStreamsPerUser);
  return new Elysia({ prefix: "/todos", tags: ["sync"], normalize: false })
    .derive(async ({ request }) => ({ caller: await callerOf(request.headers) }))
    .get(
      "/changes",
      async ({ caller, query }) => {
        const limit = query.limit === undefined ? DEFAULT_FEED_LIMIT : Number(query.limit);
        const page = await store.changes(caller.userId, { since: positionOf(query.since), limit });
        if (page === "resync") throw syncTokenExpired();
        return { changes: page.changes.map(({ change }) => change), next_since: encodeSyncToken(page.next), has_more: page.hasMore };
      },
      {
        query: changesQuery,
        response: answers.changes.types,
        detail: {
          summary: "Your changes since a sync token: every todo created, changed or deleted, each once",
          operationId: "listTodoChanges",
          responses: answers.changes.responses,
        },
      },
    )
    .get(
      "/events",
      async ({ caller, query, headers, request, server }) => {
        // A reconnecting EventSource sends the last event's id, and keeps the URL it first opened: the header wins.
        const since = positionOf(headers["last-event-id"] ?? query.since);
        // Within the verifier's clock tolerance a token past its expiry still passes; a stream with it would
        // end at once, and a client reconnecting with it would never hear that it needs a fresh one.
        if (caller.expiresAt !== null && caller.expiresAt <= Date.now()) throw tokenExpired();
        const body = await live.open(caller.userId, since, caller.expiresAt);
        // A stream is idle between events for longer than the server's idle timeout: it has none.
        server?.timeout(request, 0);
        return new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } });
      },
      {
        query: eventsQuery,
        headers: eventsHeaders,
        response: answers.events.types,
        detail: {
          summary: "Your changes as they happen, as server-sent events",
          operationId: "streamTodoChanges",
          responses: answers.events.responses,
        },
      },
    );
}
