// The compatibility routes' own errors, worded for a task, each written once.
import type { ProblemAnswer } from "../api-docs/openapi";
import { ApiError } from "../http/problem";

export const taskNotFound = () => new ApiError(404, "NOT_FOUND", "No task with this id exists.");

/** The path names a user other than the caller: their tasks are not yours to reach. */
export const notYourTasks = () =>
  new ApiError(
    403,
    "USER_MISMATCH",
    "The user id in the path is not yours: it must be exactly your token's subject (or your X-User-Id). You can only reach your own tasks.",
  );

export const taskProblems = {
  403: {
    description: "The path's user_id is not the caller's (the token's subject, compared exactly)",
    examples: { notYours: notYourTasks() },
  },
  404: { description: "No such task for this user (another user's task answers the same)", examples: { notFound: taskNotFound() } },
} satisfies Record<number, ProblemAnswer>;
