// The caller, as GET /me describes it.
import { t } from "elysia";
import { nameSchemas } from "../api-docs/openapi";

export const callerModel = t.Object({
  user_id: t.String({ format: "uuid", description: "The id the API stores with your todos (their user_id)" }),
  subject: t.String({ description: "What named you: the token's sub, or the X-User-Id header" }),
});

nameSchemas({ Caller: callerModel });
