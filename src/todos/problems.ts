// The todo feature's own errors: each code, its message and its OpenAPI answer, written once. The
// routes throw these; the document's examples are these same errors.
import type { ProblemAnswer } from "../api-docs/openapi";
import { ApiError } from "../http/problem";

// Another user's todo answers exactly like a missing one, so ids cannot be probed.
export const todoNotFound = () => new ApiError(404, "NOT_FOUND", "No todo with this id exists.");

export const limitReached = (limit: number) =>
  new ApiError(409, "TODO_LIMIT_REACHED", `You already have ${limit} todos, the most one user may keep; delete some to make room.`);

export const keyReused = () =>
  new ApiError(
    422,
    "IDEMPOTENCY_KEY_REUSED",
    "This Idempotency-Key was already used for a create with another body; use a new key for a new todo.",
  );

export const preconditionFailed = () =>
  new ApiError(
    412,
    "PRECONDITION_FAILED",
    "The todo changed since the version named in If-Match; retrieve it again and reapply your change.",
  );

export const cursorOfAnotherList = () =>
  new ApiError(400, "VALIDATION_ERROR", "The query is invalid: cursor belongs to a list with another sort, order or filters.", [
    {
      field: "cursor",
      code: "invalid",
      message: "belongs to a list with another sort, order or filters; send next_cursor with the query of the page it came from",
    },
  ]);

export const filterOrAll = () =>
  new ApiError(
    400,
    "VALIDATION_ERROR",
    "The query is invalid: a bulk change needs a filter (completed, priority or q), or all=true for every todo.",
    [{ field: "all", code: "required", message: "is required without a filter: all=true changes every todo" }],
  );

export const allWithFilter = () =>
  new ApiError(400, "VALIDATION_ERROR", "The query is invalid: all=true means every todo, so it takes no filter.", [
    { field: "all", code: "not_allowed", message: "is not allowed with a filter: send the filter alone" },
  ]);

export const syncTokenExpired = () =>
  new ApiError(
    410,
    "SYNC_TOKEN_EXPIRED",
    "The feed cannot go on from this sync token: changes after it were forgotten, or it is not one of your positions. Sync again from the start, without since.",
  );

export const tooManyStreams = (limit: number) =>
  new ApiError(
    429,
    "TOO_MANY_STREAMS",
    `You already have ${limit} live streams open, the most one user may; close one before opening another.`,
    undefined,
    { "retry-after": "5" },
  );

export const streamsFull = () =>
  new ApiError(503, "SERVICE_UNAVAILABLE", "This instance serves as many live streams as it can; retry shortly.", undefined, {
    "retry-after": "5",
  });

/** The change feed's and the live stream's own answers. */
export function syncProblems(maxStreamsPerUser: number) {
  return {
    410: {
      description:
        "SYNC_TOKEN_EXPIRED: since is older than what the service remembers (SYNC_RETENTION), or past your last change; sync again without since",
      examples: { forgotten: syncTokenExpired() },
    },
    429: {
      description: "TOO_MANY_STREAMS: you have MAX_STREAMS_PER_USER live streams open already",
      headers: ["Retry-After"],
      examples: { tooMany: tooManyStreams(maxStreamsPerUser) },
    },
    503: { examples: { streamsFull: streamsFull() } },
  } satisfies Record<number, ProblemAnswer>;
}

/** The answers above as the OpenAPI document shows them, with the limit this instance enforces. */
export function todoProblems(maxTodosPerUser: number) {
  return {
    404: {
      description: "No such todo for this user (another user's todo answers the same)",
      examples: { notFound: todoNotFound() },
    },
    409: {
      description: "The user already has MAX_TODOS_PER_USER todos",
      examples: { limitReached: limitReached(maxTodosPerUser) },
    },
    412: {
      description: "If-Match names another version of the todo (it changed since); nothing was changed",
      examples: { changedSince: preconditionFailed() },
    },
    422: {
      description: "on a create, IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was used with another body",
      examples: { keyReused: keyReused() },
    },
  } satisfies Record<number, ProblemAnswer>;
}
