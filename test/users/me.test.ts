// GET /me: who the API takes the caller to be, in whichever mode the suite runs.
import { expect, test } from "bun:test";
import { bearerMode, newUserId, storedId, subjectOf, testClient } from "../support/api";

const api = testClient();

test("GET /me answers the id the caller's todos are stored under, and the subject as it was sent", async () => {
  const user = newUserId().toUpperCase();
  const { status, json } = await api.call("GET", "/api/v1/me", { user });
  expect(status).toBe(200);
  // Header mode: the X-User-Id header is the subject, its id in lower case. Bearer mode: the token's sub.
  expect(json).toEqual({ user_id: storedId(user), subject: bearerMode ? subjectOf(user) : user });
});

test("the user id /me answers is the user_id of the caller's todos", async () => {
  const user = newUserId();
  const created = await api.create(user, { title: "mine" });
  expect((await api.call("GET", "/api/v1/me", { user })).json.user_id).toBe(created.json.user_id);
});

test("GET /me without credentials is refused like any other call", async () => {
  const { status, json } = await api.call("GET", "/api/v1/me");
  expect(status).toBe(bearerMode ? 401 : 400);
  expect(json.error_code).toBe(bearerMode ? "MISSING_TOKEN" : "MISSING_USER_CONTEXT");
});
