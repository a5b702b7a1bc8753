// GET /me: which user id the API knows the caller by, so a front end can match answers to it.
import { Elysia } from "elysia";
import { documented } from "../api-docs/openapi";
import { keysUnavailable } from "../auth/bearer";
import type { CallerResolver } from "../auth/caller";
import { callerModel } from "./model";

/** The problems of a route that names the caller and reads no database: its only 503 is the auth server's keys. */
export const callerOnlyProblems = {
  503: {
    description: "Bearer mode: the auth server's keys cannot be fetched; retry after Retry-After seconds",
    headers: ["Retry-After" as const],
    examples: { keysAway: keysUnavailable() },
  },
};

const me = documented({ 200: { description: "Who you are", schema: callerModel } }, [400, 401], callerOnlyProblems);

export function meRoutes(callerOf: CallerResolver) {
  return new Elysia({ tags: ["users"], normalize: false }).get(
    "/me",
    async ({ request }) => {
      const { userId, subject } = await callerOf(request.headers);
      return { user_id: userId, subject };
    },
    {
      response: me.types,
      detail: { summary: "Who you are to this API", operationId: "getMe", responses: me.responses },
    },
  );
}
