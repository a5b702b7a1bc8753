// GET /me: which user id the API knows the caller by, so a front end can match answers to it.
import { Elysia, t } from "elysia";
import { documentedResponses } from "../http/problem";
import type { UserContext } from "../http/user-context";

export const callerModel = t.Object({
  user_id: t.String({ format: "uuid", description: "The id the API stores with your todos (their user_id)" }),
  subject: t.String({ description: "What named you: the token's sub, or the X-User-Id header" }),
});

export function meRoutes(callerOf: UserContext) {
  return new Elysia({ tags: ["users"], normalize: false }).get(
    "/me",
    async ({ request }) => {
      const { userId, subject } = await callerOf(request.headers);
      return { user_id: userId, subject };
    },
    {
      detail: {
        summary: "Who you are to this API",
        operationId: "getMe",
        responses: documentedResponses({ 200: callerModel }, [400, 401, 503]),
      },
    },
  );
}
