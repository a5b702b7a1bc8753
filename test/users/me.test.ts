// GET /me: who the API takes the caller to be, in whichever mode the suite runs.
import { expect, test } from "bun:test";
import { bearerMode, newUserId, testClient } from "../support/api";

const api = testClient();

test("GET /me answers the caller's user id, in lower case, and the subject as it was sent", async () => {
  const subject = newUserId().toUpperCase();
  const { status, json } = await api.call("GET", "/api/v1/me", { user: subject });
  expect(status).toBe(200);
  expect(json).toEqual({ user_id: subject.toLowerCase(), subject });
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
